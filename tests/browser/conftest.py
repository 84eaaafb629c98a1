"""Real Chromium (Debian's /usr/bin/chromium, driven by Playwright) against the app served by
uvicorn on a loopback port, over a real SQLite file.

Missing Chromium or front-end assets skip these tests with the reason, or fail them when
CONCERNS_REQUIRE_SERVICES=1 (CI). Never `playwright install`: the browser is the system's.
"""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import uvicorn

from concerns.web import create_app
from concerns.workflows.context import AppContext
from tests.conftest import _sqlite_ctx
from tests.factories import create_staff
from tests.integration.web_helpers import PASSWORD
from tests.services import unavailable

REPO = Path(__file__).resolve().parents[2]
CHROMIUM = Path("/usr/bin/chromium")
AXE = REPO / "node_modules" / "axe-core" / "axe.min.js"
CSS = REPO / "concerns" / "web" / "static" / "govuk" / "application.css"
SCREENSHOTS = REPO / "docs" / "screenshots"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def _missing() -> str | None:
    if not CHROMIUM.exists():
        return "Chromium not installed at /usr/bin/chromium (apt-get install chromium)"
    if not AXE.exists() or not CSS.exists():
        return "front-end assets not built (npm ci && npm run build)"
    try:
        import playwright  # noqa: F401
    except ImportError:
        return "playwright (Python) not installed"
    return None


class LiveServer:
    def __init__(self, ctx: AppContext) -> None:
        self.ctx = ctx
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            self.port = sock.getsockname()[1]
        config = uvicorn.Config(
            create_app(ctx.settings, ctx), host="127.0.0.1", port=self.port,
            log_level="warning", access_log=False,
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> LiveServer:
        self.thread.start()
        deadline = time.monotonic() + 30
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("the web server did not start")
            time.sleep(0.05)
        return self

    def __exit__(self, *_: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    reason = _missing()
    if reason:
        unavailable(reason)
    ctx = _sqlite_ctx(tmp_path_factory.mktemp("browser"))
    create_staff(ctx, PASSWORD)
    with LiveServer(ctx) as server:
        yield server
    ctx.engine.dispose()


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    """One Chromium for the whole run: each test page gets its own browser context (cookies,
    storage), so sharing the process costs no isolation. The server (and its register) stays
    per module, since modules set up data their tests rely on."""
    reason = _missing()
    if reason:
        unavailable(reason)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def new_page(browser: Any, live: LiveServer) -> Iterator[Any]:
    """A factory of pages, each in its own browser context (its own cookies)."""
    contexts: list[Any] = []

    def make(width: int = 1024) -> Any:
        context = browser.new_context(
            base_url=live.url, viewport={"width": width, "height": 900}
        )
        context.set_default_timeout(15_000)
        contexts.append(context)
        return context.new_page()

    yield make
    for context in contexts:
        context.close()


def axe_violations(page: Any) -> list[dict[str, Any]]:
    """Serious and critical axe-core violations on the page as it is now."""
    if not page.evaluate("() => typeof window.axe !== 'undefined'"):
        # Evaluated through the DevTools protocol, so the page's CSP does not block it.
        page.evaluate(AXE.read_text(encoding="utf-8"))
    result = page.evaluate(
        "async () => await axe.run(document, {resultTypes: ['violations']})"
    )
    return [
        {"id": v["id"], "impact": v["impact"], "help": v["help"],
         "nodes": [n["target"] for n in v["nodes"]][:5]}
        for v in result["violations"]
        if v["impact"] in ("serious", "critical")
    ]


def assert_accessible(page: Any) -> None:
    violations = axe_violations(page)
    assert violations == [], f"{page.url}: {violations}"


def assert_fits(page: Any) -> None:
    """Nothing wider than the viewport: the page works at this width without sideways scroll."""
    widths = page.evaluate(
        "() => [document.documentElement.scrollWidth, window.innerWidth]"
    )
    assert widths[0] <= widths[1], f"{page.url}: {widths[0]}px wide in a {widths[1]}px window"


def screenshot(page: Any, name: str) -> None:
    """Saved to docs/screenshots when CONCERNS_SCREENSHOTS=1 (to refresh the docs' pictures)."""
    if os.environ.get("CONCERNS_SCREENSHOTS") == "1":
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


def click_and_load(page: Any, target: Any) -> None:
    """Click what loads a new page and wait until that page has loaded.

    A bare click returns once the request has gone, while the old page still shows: a slow
    answer (a password hashed, a PDF made) let the next look land on the page before.
    """
    with page.expect_navigation():
        target.click()


def sign_in(page: Any, username: str, lands_on: str = "/my-work") -> None:
    page.goto("/login")
    page.fill("#username", username)
    page.fill("#password", PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"**{lands_on}")
