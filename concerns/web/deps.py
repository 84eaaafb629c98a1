"""What every route needs: the app's context, the signed-in user, and page rendering."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from anyio import to_thread
from fastapi import Request
from starlette.responses import Response
from starlette.templating import Jinja2Templates

from concerns.web.security import csrf_token, session_user_id
from concerns.workflows.access import auth
from concerns.workflows.access.conflicts import DECIDERS
from concerns.workflows.context import AppContext
from concerns.workflows.errors import NotAllowed
from concerns.workflows.intake.register_import import IMPORT_ROLES
from concerns.workflows.machine import RECORDS_OFFICERS, Actor


@dataclass
class WebState:
    ctx: AppContext
    templates: Jinja2Templates
    # Keys the stored addresses of the sign-in throttle and the public form's rate limit
    # (var/secret_key, readable by the owner only).
    secret: str = ""


@dataclass(frozen=True)
class StaffUser:
    id: int
    username: str
    full_name: str
    roles: frozenset[str]
    name_key: str

    @property
    def actor(self) -> Actor:
        return Actor(self.username, self.roles, self.name_key)


class SignInNeeded(Exception):
    """Raised by `signed_in`: pages redirect to /login, the API answers 401."""


# Pages in the navigation, and the roles that see each link. The service functions check the
# roles again; this only keeps links to pages a user cannot use out of the menu.
NAV: tuple[tuple[str, str, frozenset[str]], ...] = (
    ("/my-work", "My work", frozenset({
        "iat_officer", "iat_manager", "information_officer", "legal", "director",
        "executive_assistant",
    })),
    ("/cases", "Cases", frozenset({
        "iat_officer", "iat_manager", "information_officer", "legal", "director",
        "executive_assistant",
    })),
    ("/team", "Team", frozenset({"iat_manager"})),
    ("/conflicts", "Conflicts of interest", DECIDERS),
    ("/log-contact", "Log a contact", frozenset({"intake", "iat_officer", "iat_manager"})),
    ("/queue/director", "Sign-off queue", frozenset({"director"})),
    ("/queue/assistant", "Letters queue", frozenset({"executive_assistant"})),
    ("/quarantine", "Quarantine", frozenset({"intake", "iat_officer", "iat_manager"})),
    ("/imported-rows", "Imported rows to check", IMPORT_ROLES),
    ("/users", "Staff accounts", frozenset({"admin", "iat_manager"})),
    ("/records/retention", "Retention", RECORDS_OFFICERS),
    ("/reports/scrutiny", "Scrutiny report", frozenset({
        "iat_officer", "iat_manager", "auditor", "director",
    })),
)


def state(request: Request) -> WebState:
    web: WebState = request.app.state.web
    return web


def current_user(request: Request) -> StaffUser | None:
    """The user of this request's session, checked against the database on every request."""
    found = _known_user(request)
    if not isinstance(found, _Unread):
        return found
    user_id = session_user_id(request)
    assert user_id is not None  # _known_user answered for a request without one
    # A read-only transaction: checking the user never takes SQLite's write lock.
    return _remember(request, auth.session_user(state(request).ctx.read_sessions, user_id))


class _Unread:
    """What _known_user answers when the user must still be read from the database."""


def _known_user(request: Request) -> StaffUser | _Unread | None:
    """The request's user as already known, without the database: from this request's cache
    or as the session middleware read it with the session's row (every signed-in request);
    None when signed out; _Unread() when it must be read."""
    cached = getattr(request.state, "staff_user", False)
    if cached is None or isinstance(cached, StaffUser):
        return cached
    user_id = session_user_id(request)
    if user_id is None:
        return _remember(request, None)
    user = request.scope.get("state", {}).get("session_user")
    if isinstance(user, auth.SessionUser) and user.id == user_id:
        return _remember(request, user)
    return _Unread()


def _remember(request: Request, user: auth.SessionUser | None) -> StaffUser | None:
    found = (StaffUser(user.id, user.username, user.full_name, user.roles, user.name_key)
             if user is not None else None)
    request.state.staff_user = found
    return found


async def signed_in(request: Request) -> StaffUser:
    """The signed-in user, or SignInNeeded. Async: the session middleware has read the user
    with the session, so this needs no worker thread of its own (a sync dependency takes one
    on every request); should it not have, the user is read in one."""
    known = _known_user(request)
    user = (await to_thread.run_sync(current_user, request) if isinstance(known, _Unread)
            else known)
    if user is None:
        raise SignInNeeded()
    return user


def require_role(user: StaffUser, roles: frozenset[str], what: str) -> None:
    if not user.roles & roles:
        raise NotAllowed(f"{what} needs the role " + " or ".join(sorted(roles)))


def render(
    request: Request,
    template: str,
    title: str,
    *,
    status_code: int = 200,
    errors: list[tuple[str, str]] | None = None,
    **context: Any,
) -> Response:
    """A page: ERRORS are (input id, message) pairs for the error summary and the inputs."""
    web = state(request)
    user = current_user(request)
    nav = []
    if user is not None:
        nav = [
            {"href": href, "text": text, "current": request.url.path == href}
            for href, text, roles in NAV
            if user.roles & roles
        ]
    error_list = [{"text": message, "href": f"#{input_id}"} for input_id, message in errors or []]
    flash = request.session.pop("flash", None)
    return web.templates.TemplateResponse(
        request,
        template,
        {
            "title": title,
            "user": user,
            "nav": nav,
            "council": web.ctx.settings.council,
            "csrf_token": csrf_token(request),
            "cspNonce": request.scope.get("state", {}).get("csp_nonce", ""),
            "errors": dict(reversed(errors or [])),
            "errors_list": error_list,
            "flash": flash,
            **context,
        },
        status_code=status_code,
    )
