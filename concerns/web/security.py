"""Security plumbing for every response: headers with a per-request CSP nonce, CSRF tokens,
the session secret, and an access log without personal data.
"""

from __future__ import annotations

import functools
import hmac
import ipaddress
import logging
import os
import secrets
import time
from pathlib import Path
from typing import Any

from anyio import to_thread
from starlette.convertors import Convertor, register_url_convertor
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from concerns.workflows.access import sessions as staff_sessions
from concerns.workflows.context import AppContext
from concerns.workflows.errors import NotAllowed

log = logging.getLogger("concerns.web")

SESSION_COOKIE = "concerns_session"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"


class CsrfRefused(NotAllowed):
    def __init__(self) -> None:
        super().__init__(
            "the form has expired or did not come from this site: reload and try again"
        )


class SecurityHeaders:
    """Pure ASGI middleware: security headers on every response, and a CSP nonce per request
    (the GOV.UK template's one inline script needs it)."""

    def __init__(self, app: ASGIApp, hsts_seconds: int = 0) -> None:
        self.app = app
        # Only when served over HTTPS (secure cookies): browsers then refuse plain HTTP.
        self.hsts = (
            [(b"strict-transport-security", f"max-age={hsts_seconds}".encode())]
            if hsts_seconds > 0 else []
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        nonce = secrets.token_urlsafe(16)
        scope.setdefault("state", {})["csp_nonce"] = nonce
        path: str = scope.get("path", "")
        started = time.perf_counter()
        status = 500

        async def send_with_headers(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = list(message.get("headers", []))
                # A route may set its own (the letter preview's CSP); the rest are added.
                present = {name.lower() for name, _ in headers}
                headers.extend(
                    h for h in _security_headers(nonce, static=path.startswith("/static/"))
                    + self.hsts
                    if h[0] not in present
                )
                message["headers"] = headers
            await send(message)

        try:
            await self.app(scope, receive, send_with_headers)
        finally:
            # Path only: query strings carry searches (names), bodies carry concerns.
            log.info(
                "%s %s %s %.1fms", scope.get("method", ""), path, status,
                (time.perf_counter() - started) * 1000,
            )


def _security_headers(nonce: str, *, static: bool) -> list[tuple[bytes, bytes]]:
    csp = (
        "default-src 'self'; "
        f"script-src 'self' 'nonce-{nonce}'; "
        "style-src 'self'; img-src 'self' data:; font-src 'self'; connect-src 'self'; "
        "form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'"
    )
    headers = [
        (b"content-security-policy", csp.encode()),
        (b"x-frame-options", b"DENY"),
        (b"x-content-type-options", b"nosniff"),
        (b"referrer-policy", b"no-referrer"),
        (b"permissions-policy", b"camera=(), microphone=(), geolocation=()"),
        (b"cross-origin-opener-policy", b"same-origin"),
    ]
    if not static:
        # Case pages are confidential: no copies in shared or browser caches.
        headers.append((b"cache-control", b"no-store"))
    return headers


def csrf_token(request: Request) -> str:
    """This session's CSRF token, made on first use."""
    token = request.session.get("csrf")
    if not isinstance(token, str) or len(token) < 32:
        token = secrets.token_urlsafe(32)
        request.session["csrf"] = token
    return token


def check_csrf(request: Request, submitted: str | None) -> None:
    expected = request.session.get("csrf")
    if (
        not isinstance(expected, str)
        or not submitted
        or not hmac.compare_digest(expected.encode(), submitted.encode())
    ):
        raise CsrfRefused()


async def require_csrf(request: Request) -> None:
    """FastAPI dependency for every state-changing request: form field or header."""
    if request.method in ("GET", "HEAD", "OPTIONS"):
        return
    submitted = request.headers.get(CSRF_HEADER)
    if submitted is None:
        content_type = request.headers.get("content-type", "")
        if content_type.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
            form = await request.form()
            value = form.get(CSRF_FIELD)
            submitted = value if isinstance(value, str) else None
    check_csrf(request, submitted)


# Where an over-large body is sent instead of its own route: a page that says so.
TOO_LARGE_PATH = "/request-too-large"


class BodyLimit:
    """Pure ASGI middleware: a request body over `limit` bytes is refused before it is read.

    A declared Content-Length over the limit is refused at once, unread; a body without one is
    read up to the limit and refused as soon as it passes it. Either way the request goes to
    TOO_LARGE_PATH with an empty body (a page that explains, with the session and CSRF token
    the site's pages need), so memory never grows by the body's size.
    """

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope.get("method") in ("GET", "HEAD", "OPTIONS"):
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers", [])).get(b"content-length")
        if declared is not None:
            try:
                too_large = int(declared) > self.limit
            except ValueError:
                too_large = True
            if too_large:
                await self._refuse(scope, send)
                return
            await self.app(scope, receive, send)
            return
        # No length declared (chunked): hold at most `limit` bytes, then hand them on.
        chunks: list[bytes] = []
        size = 0
        more = True
        while more:
            message = await receive()
            if message["type"] != "http.request":
                break
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.limit:
                await self._refuse(scope, send)
                return
            chunks.append(chunk)
            more = message.get("more_body", False)
        body = b"".join(chunks)
        sent = False

        async def replay() -> Message:
            nonlocal sent
            if sent:
                return await receive()
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}

        await self.app(scope, replay, send)

    async def _refuse(self, scope: Scope, send: Send) -> None:
        async def empty() -> Message:
            return {"type": "http.request", "body": b"", "more_body": False}

        headers = [(k, v) for k, v in scope.get("headers", [])
                   if k not in (b"content-length", b"content-type", b"transfer-encoding")]
        refused = {**scope, "path": TOO_LARGE_PATH, "raw_path": TOO_LARGE_PATH.encode(),
                   "query_string": b"", "headers": [*headers, (b"content-length", b"0")]}
        refused.setdefault("state", {})["refused_path"] = scope.get("path", "")
        await self.app(refused, empty, send)


def client_address(request: Request, trusted: tuple[str, ...]) -> str:
    """The address a request came from. X-Forwarded-For is believed only when the connection
    comes from a proxy listed in `web.trusted_proxies` (none by default): then the nearest
    address in it that is not itself a trusted proxy."""
    peer = request.client.host if request.client else "unknown"
    if not trusted or not _in(peer, trusted):
        if not trusted and "x-forwarded-for" in request.headers:
            _warn_untrusted_proxy()
        return peer
    forwarded = [a.strip() for a in request.headers.get("x-forwarded-for", "").split(",")]
    for address in reversed([a for a in forwarded if a]):
        if not _in(address, trusted):
            return address
    return peer


@functools.cache
def _warn_untrusted_proxy() -> None:
    """Once per process (the address is never logged): behind a proxy nobody listed, every
    client is counted as the proxy, so the sign-in and public-form limits are shared by all."""
    log.warning(
        "requests carry X-Forwarded-For but web.trusted_proxies is empty: if a proxy is in "
        "front of this server, list it there, or every client counts as the proxy's address "
        "(one client's failed sign-ins would refuse everyone's)")


def _in(address: str, networks: tuple[str, ...]) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    for network in networks:
        try:
            if ip in ipaddress.ip_network(network, strict=False):
                return True
        except ValueError:
            continue
    return False


class ServerSessions:
    """Pure ASGI middleware: `request.session` kept in the database (access.sessions), the
    cookie holding only a random token. Routes sign in with `begin_session` (a fresh token, so
    nothing from before carries over) and sign out with `end_session`."""

    def __init__(self, app: ASGIApp, ctx: AppContext) -> None:
        self.app = app
        self.ctx = ctx
        self.web = ctx.settings.web

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        token = _cookie(scope, SESSION_COOKIE)
        loaded = None
        if token:
            loaded = await to_thread.run_sync(
                functools.partial(staff_sessions.load, read_sessions=self.ctx.read_sessions,
                                  with_user=True),
                self.ctx.sessions, self.web, token, self.ctx.now())
        if loaded is None:
            token = None
        data: dict[str, Any] = dict(loaded.data) if loaded else {}
        scope["session"] = data
        state = scope.setdefault("state", {})
        state["session_user_id"] = loaded.user_id if loaded else None
        # The signed-in user as read with the session (deps.current_user uses it).
        state["session_user"] = loaded.user if loaded else None
        before = dict(data)

        async def send_with_cookie(message: Message) -> None:
            if message["type"] == "http.response.start":
                cookie = await self._store(state, token, before, scope["session"])
                if cookie is not None:
                    headers = list(message.get("headers", []))
                    headers.append((b"set-cookie", cookie.encode("latin-1")))
                    message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_with_cookie)

    async def _store(self, state: dict[str, Any], token: str | None, before: dict[str, Any],
                     data: dict[str, Any]) -> str | None:
        """Save the session; the Set-Cookie header value when the token changes."""
        now = self.ctx.now()
        sessions = self.ctx.sessions
        if state.get("session_end") or "session_begin" in state:
            if token:
                await to_thread.run_sync(staff_sessions.end, sessions, token, now)
            user_id = state.get("session_begin")
            if user_id is None and not data:
                return self._cookie("", expire=True)
            new = await to_thread.run_sync(staff_sessions.start, sessions, dict(data), user_id, now)
            return self._cookie(new)
        if data == before:
            return None
        if token:
            await to_thread.run_sync(staff_sessions.save, sessions, token, dict(data))
            return None
        new = await to_thread.run_sync(staff_sessions.start, sessions, dict(data), None, now)
        return self._cookie(new)

    def _cookie(self, token: str, *, expire: bool = False) -> str:
        parts = [f"{SESSION_COOKIE}={token}", "Path=/", "HttpOnly", "SameSite=Lax"]
        if expire:
            parts.append("Max-Age=0")
        if self.web.secure_cookies:
            parts.append("Secure")
        return "; ".join(parts)


def _cookie(scope: Scope, name: str) -> str | None:
    # The last one wins, as in Starlette's own cookie parsing.
    found: str | None = None
    headers: list[tuple[bytes, bytes]] = scope.get("headers", [])
    for key, value in headers:
        if key == b"cookie":
            for item in value.decode("latin-1").split(";"):
                k, _, v = item.strip().partition("=")
                if k == name:
                    found = v
    return found


def begin_session(request: Request, user_id: int | None, data: dict[str, Any]) -> None:
    """Sign-in: the old session ends and a new one (new token) starts for USER_ID with DATA."""
    request.session.clear()
    request.session.update(data)
    request.scope["state"]["session_begin"] = user_id


def end_session(request: Request) -> None:
    """Sign-out: the session ends on the server; what is left in it (a flash) starts afresh."""
    request.session.clear()
    request.scope["state"]["session_end"] = True


def session_user_id(request: Request) -> int | None:
    value = request.scope.get("state", {}).get("session_user_id")
    return value if isinstance(value, int) else None


class IdConvertor(Convertor[int]):
    """`{name:id}` in a route: a database id. At most 18 digits, so an id beyond what the
    database holds (2**63, say) matches no route and answers 404 instead of overflowing."""

    regex = "[0-9]{1,18}"

    def convert(self, value: str) -> int:
        return int(value)

    def to_string(self, value: int) -> str:
        return str(int(value))


register_url_convertor("id", IdConvertor())


def posted_number(text: str | None) -> int | None:
    """A number posted in a form (a case's version, a person's id), or None: ASCII digits only
    and at most 18 of them, as `IdConvertor`; "²" or "٣" (digits to str.isdigit, not to int)
    and numbers beyond what the database holds are None, never an error in the server."""
    if text and len(text) <= 18 and text.isascii() and text.isdigit():
        return int(text)
    return None


def secret_key(configured: str, var_dir: Path) -> str:
    """The configured key, or one made at random and kept in var/secret_key (mode 0600)."""
    if configured:
        return configured
    path = var_dir / "secret_key"
    if path.exists():
        return path.read_text(encoding="ascii").strip()
    var_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    key = secrets.token_urlsafe(48)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        # Another process made it a moment ago.
        return path.read_text(encoding="ascii").strip()
    with os.fdopen(fd, "w", encoding="ascii") as handle:
        handle.write(key)
    return key
