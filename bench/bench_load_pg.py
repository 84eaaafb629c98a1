"""A bounded load test on PostgreSQL: `concerns serve --workers 4` and two `concerns scheduler`
processes on one database, driven for a fixed time by a small async client on loopback.

The client mixes what the council's staff and public do at once:
- staff reading case pages and the director's queue (signed in, session checked each time);
- staff firing events through the JSON API (request_information, whose letter is rendered, then
  information_received, round and round), each user on cases of their own;
- members of the public sending the concern form (GET for the token, POST, the thank-you page).
Every public submission answered "sent" carries a unique marker; afterwards the database must
hold every one of them (0 lost submissions). Any unexpected status or failed request is an
error. Throughput, p50/p95/p99 per kind and the error count go to bench/results.json.

The load starts once every worker has said it is ready (each compiles its templates and loads
what requests need before it takes one: `web.app.warm_up`) and the staff have signed in; its
first 3 seconds are a warm-up whose times are not counted (its errors and submissions are).

Needs PostgreSQL on 127.0.0.1:5432 (user postgres, trust), as the tests do.
Environment: CONCERNS_LOAD_SECONDS (default 30), CONCERNS_LOAD_CLIENTS (default 12),
CONCERNS_TEST_PG (the server URL, default postgresql+psycopg://postgres@127.0.0.1:5432).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections import defaultdict
from pathlib import Path

import httpx
import psycopg

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from bench.common import record  # noqa: E402

SECONDS = float(os.environ.get("CONCERNS_LOAD_SECONDS", "30"))
CLIENTS = int(os.environ.get("CONCERNS_LOAD_CLIENTS", "12"))
# The same load, untimed, before the counted SECONDS (errors and lost submissions still count).
WARM_UP_SECONDS = 3.0
SERVER = os.environ.get("CONCERNS_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432")
PASSWORD = "a long enough passphrase"
WORKERS = 4
SCHEDULERS = 2
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
BIN = Path(sys.executable).parent


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _create_database() -> str:
    name = f"concerns_load_{uuid.uuid4().hex[:10]}"
    plain = SERVER.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(f"{plain}/postgres", autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return name


def _drop_database(name: str) -> None:
    plain = SERVER.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(f"{plain}/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _seed(config: Path, staff_cases: int) -> list[str]:
    """Staff with passwords and STAFF_CASES cases in triage, through the real services."""
    from concerns.workflows.context import build_context
    from concerns.workflows.settings import load_settings
    from tests.factories import act, create_staff, log_concern

    ctx = build_context(load_settings(config))
    ctx.migrate()
    create_staff(ctx, PASSWORD)
    refs = []
    for i in range(staff_cases):
        ref = log_concern(ctx, name=f"Load Person {i}", email=f"load{i}@example.org")
        act(ctx, ref, "acknowledge", "alex")
        refs.append(ref)
    ctx.engine.dispose()
    return refs


class Stats:
    """Times of the requests sent from `counting_from` on (those of the warm-up before it are
    left out); every error and every submission sent counts, warm-up or not."""

    def __init__(self) -> None:
        self.counting_from = 0.0
        self.times: dict[str, list[float]] = defaultdict(list)
        self.errors: list[str] = []
        self.sent_markers: list[str] = []

    def ok(self, kind: str, started: float) -> None:
        if started >= self.counting_from:
            self.times[kind].append((time.perf_counter() - started) * 1000)

    def error(self, kind: str, problem: str) -> None:
        self.errors.append(f"{kind}: {problem}")


async def _sign_in(client: httpx.AsyncClient, username: str) -> str:
    page = await client.get("/login")
    token = CSRF.search(page.text)
    assert token, "no CSRF token on the sign-in page"
    response = await client.post("/login", data={"username": username, "password": PASSWORD,
                                                 "csrf_token": token.group(1)})
    assert response.status_code == 303, f"sign-in {response.status_code}"
    page = await client.get("/my-work")
    token = CSRF.search(page.text)
    assert token, "no CSRF token for the signed-in session"
    return token.group(1)


async def reader(client: httpx.AsyncClient, reference: str, until: float,
                 stats: Stats) -> None:
    while time.perf_counter() < until:
        for kind, path in (("case page", f"/cases/{reference}"),
                           ("director queue", "/queue/director")):
            started = time.perf_counter()
            try:
                response = await client.get(path)
            except httpx.HTTPError as exc:
                stats.error(kind, type(exc).__name__)
                continue
            if response.status_code == 200:
                stats.ok(kind, started)
            else:
                stats.error(kind, str(response.status_code))


async def actor(client: httpx.AsyncClient, csrf: str, references: list[str], until: float,
                stats: Stats) -> None:
    headers = {"x-csrf-token": csrf}
    events = (("request_information", {"values": {"wording": "Please send the dates."}}),
              ("information_received", {"values": {}}))
    turn = 0
    while time.perf_counter() < until:
        reference = references[turn % len(references)]
        for event, body in events:
            started = time.perf_counter()
            try:
                response = await client.post(f"/api/cases/{reference}/events/{event}",
                                             json=body, headers=headers)
            except httpx.HTTPError as exc:
                stats.error("event", type(exc).__name__)
                continue
            if response.status_code == 200:
                stats.ok("event", started)
            else:
                stats.error("event", f"{response.status_code} {response.text[:120]}")
        turn += 1


async def public(base: str, until: float, stats: Stats, who: int) -> None:
    n = 0
    while time.perf_counter() < until:
        n += 1
        marker = f"load-{who}-{n}-{uuid.uuid4().hex[:8]}"
        async with httpx.AsyncClient(base_url=base, timeout=60) as client:
            started = time.perf_counter()
            try:
                page = await client.get("/concern")
                token = CSRF.search(page.text)
                if page.status_code != 200 or not token:
                    stats.error("submission", f"form {page.status_code}")
                    continue
                form = {
                    "csrf_token": token.group(1), "name": f"Member Public {who} {n}",
                    "email": f"{marker}@example.org", "relationship": "parent",
                    "child-0-name": f"Child Public {who}", "child-0-dob-day": "3",
                    "child-0-dob-month": "4", "child-0-dob-year": "2012",
                    "from-year": "2015", "to-year": "2020",
                    "concern": f"Nobody returned my calls for months ({marker}).",
                    "consent": "yes",
                    # Sent from the check-your-answers page, the form's last step.
                    "action": "send",
                }
                response = await client.post("/concern", data=form)
                if response.status_code != 303:
                    stats.error("submission", f"post {response.status_code}")
                    continue
                thanks = await client.get(response.headers["location"])
            except httpx.HTTPError as exc:
                stats.error("submission", type(exc).__name__)
                continue
            if thanks.status_code == 200:
                stats.ok("submission", started)
                stats.sent_markers.append(marker)
            else:
                stats.error("submission", f"thanks {thanks.status_code}")


async def drive(base: str, cases: list[str], signoff_case: str) -> tuple[Stats, float]:
    """The load, for WARM_UP_SECONDS and then SECONDS; returns its figures and how long the
    counted part ran. Staff sign in first, all of them: a sign-in's deliberately slow password
    check (eight at once) is not what the figures are about, and would slow what ran beside it.
    The warm-up is the same mix, not timed: each worker's first requests of each kind open its
    database connections and fill its caches of compiled statements, which a server pays once."""
    stats = Stats()
    readers = max(1, CLIENTS // 3)
    actors = max(1, CLIENTS // 3)
    publics = max(1, CLIENTS - readers - actors)
    share = max(1, len(cases) // actors)
    async with contextlib.AsyncExitStack() as stack:
        clients = [await stack.enter_async_context(httpx.AsyncClient(base_url=base, timeout=60))
                   for _ in range(readers + actors)]
        tokens = await asyncio.gather(
            *(_sign_in(client, "dana") for client in clients[:readers]),
            *(_sign_in(client, "alex") for client in clients[readers:]))
        started = time.perf_counter() + WARM_UP_SECONDS
        stats.counting_from = started
        until = started + SECONDS
        tasks = [reader(client, signoff_case, until, stats) for client in clients[:readers]]
        tasks += [actor(client, token, cases[i * share:(i + 1) * share], until, stats)
                  for i, (client, token) in enumerate(zip(clients[readers:], tokens[readers:],
                                                          strict=True))]
        tasks += [public(base, until, stats, i) for i in range(publics)]
        await asyncio.gather(*tasks)
        return stats, time.perf_counter() - started


def _wait(base: str, server: subprocess.Popen[bytes], log: Path) -> None:
    """Until every worker has said it is ready (each prepares itself before it takes a
    request: a worker still starting would otherwise count its start-up in the figures), and
    the server answers."""
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit("the web server exited")
        ready = log.read_text(errors="replace").count("Application startup complete")
        try:
            if ready >= WORKERS and httpx.get(f"{base}/healthz", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise SystemExit("the web server did not start")


def _lost(url: str, markers: list[str]) -> int:
    plain = url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(plain) as conn:
        stored = {row[0] for row in conn.execute("SELECT email FROM respondents")}
    return sum(1 for m in markers if f"{m}@example.org" not in stored)


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))] if ordered else 0.0


def main() -> int:
    name = _create_database()
    url = f"{SERVER}/{name}"
    processes: list[subprocess.Popen[bytes]] = []
    try:
        with tempfile.TemporaryDirectory() as tmp:
            config = Path(tmp) / "config.toml"
            port = _free_port()
            config.write_text(
                f'[database]\nurl = "{url}"\n'
                f'[web]\nsecret_key = "load-test-secret-key-not-for-use"\nport = {port}\n'
                # Every client is 127.0.0.1 here: the per-address limit would stop the test.
                "public_form_per_hour = 1000000\n"
                # The clients sign in with a password alone (no authenticator app here).
                "second_factor = false\n"
            )
            env = dict(os.environ, CONCERNS_CONFIG=str(config))
            env.pop("CONCERNS_DATABASE_URL", None)
            cases = _seed(config, 24)

            concerns = str(BIN / "concerns")
            server_log = Path(tmp) / "server.log"
            with server_log.open("wb") as output:
                processes.append(subprocess.Popen(
                    [concerns, "serve", "--workers", str(WORKERS), "--host", "127.0.0.1",
                     "--port", str(port), "--config", str(config)],
                    env=env, stdout=subprocess.DEVNULL, stderr=output))
            for _ in range(SCHEDULERS):
                processes.append(subprocess.Popen(
                    [concerns, "scheduler", "--interval", "2", "--config", str(config)],
                    env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
            base = f"http://127.0.0.1:{port}"
            _wait(base, processes[0], server_log)
            stats, elapsed = asyncio.run(drive(base, cases[1:], cases[0]))
            crashed = [p.args for p in processes if p.poll() is not None]
            lost = _lost(url, stats.sent_markers)
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
        _drop_database(name)

    total = sum(len(t) for t in stats.times.values())
    throughput = total / elapsed
    record(f"load on PostgreSQL ({WORKERS} web workers, {SCHEDULERS} schedulers, {CLIENTS} "
           "clients): requests per second", throughput, 1.0, "req/s")
    record("load on PostgreSQL: errors (vs 0 allowed)", float(len(stats.errors)), 1.0, "count")
    record("load on PostgreSQL: lost public submissions (vs 0 allowed)", float(lost), 1.0,
           "count")
    for kind, times in sorted(stats.times.items()):
        for q in (0.5, 0.95, 0.99):
            record(f"load on PostgreSQL: {kind} p{round(q * 100)} (ms, vs the median)",
                   _pct(times, q), statistics.median(times), "ms")
    print(f"  {elapsed:.0f} s, {total} requests ({throughput:.1f}/s): "
          + ", ".join(f"{k} {len(v)}" for k, v in sorted(stats.times.items()))
          + f"; {len(stats.sent_markers)} submissions sent, {lost} lost; "
          f"{len(stats.errors)} errors; processes that died: {crashed or 'none'}")
    for problem in stats.errors[:10]:
        print(f"  error: {problem}")
    return 1 if stats.errors or lost or crashed else 0


if __name__ == "__main__":
    raise SystemExit(main())
