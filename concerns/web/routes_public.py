"""Pages anyone may open: health check, sign-in and sign-out, and the public concern form."""

from __future__ import annotations

import json
import secrets
from datetime import date, datetime, timedelta
from typing import Annotated
from urllib.parse import urlsplit

import anyio
from fastapi import APIRouter, Depends, Form, Request
from fastapi.concurrency import run_in_threadpool
from sqlalchemy import text
from starlette.responses import JSONResponse, RedirectResponse, Response

from concerns.letters.templating import long_date
from concerns.web import concern_form
from concerns.web.deps import current_user, render, state
from concerns.web.security import (
    CSRF_FIELD,
    TOO_LARGE_PATH,
    CsrfRefused,
    begin_session,
    check_csrf,
    client_address,
    end_session,
    require_csrf,
)
from concerns.workflows.access import auth, public_form_limit, second_factor
from concerns.workflows.access.sessions import PENDING_KEY, PENDING_MINUTES
from concerns.workflows.errors import BadInput
from concerns.workflows.intake import submissions

router = APIRouter(include_in_schema=False)


@router.get("/healthz")
def healthz(request: Request) -> Response:
    """Up and able to read the database."""
    try:
        with state(request).ctx.engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    except Exception:
        return JSONResponse({"status": "database unavailable"}, status_code=503)
    return JSONResponse({"status": "ok"})


@router.get("/concern/form-schema.json")
def concern_form_schema() -> Response:
    """The JSON Schema of a concern submission (docs/form-schema.json), at a stable address."""
    from concerns.triage.form_schema import schema

    return JSONResponse(schema(), media_type="application/schema+json")


@router.get("/")
def home(request: Request) -> Response:
    return RedirectResponse("/my-work" if current_user(request) else "/login", status_code=303)


def _safe_next(target: str | None) -> str:
    """Only a path on this site: never an open redirect to another host."""
    if not target:
        return "/my-work"
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return "/my-work"
    if "\\" in target:
        return "/my-work"
    return target


@router.get("/login")
def login_page(request: Request, next: str | None = None) -> Response:
    if current_user(request) is not None:
        return RedirectResponse(_safe_next(next), status_code=303)
    return render(request, "login.html", "Sign in", next=_safe_next(next), username="")


@router.post("/login", dependencies=[Depends(require_csrf)])
async def login(
    request: Request,
    username: Annotated[str, Form(max_length=200)] = "",
    password: Annotated[str, Form(max_length=2000)] = "",
    next: Annotated[str, Form(max_length=2000)] = "",
) -> Response:
    errors: list[tuple[str, str]] = []
    if not username.strip():
        errors.append(("username", "Enter your username"))
    if not password:
        errors.append(("password", "Enter your password"))
    if not errors:
        web = state(request)
        ctx = web.ctx
        attempt = await run_in_threadpool(
            auth.prepare_attempt, ctx.sessions, ctx.settings.web, ctx.now, username,
            address=client_address(request, ctx.settings.web.trusted_proxies), secret=web.secret,
        )
        if attempt.delay:
            # Held without a worker thread: many held attempts (someone hammering the director's
            # username) cannot take every thread and stop the site for everyone else.
            await anyio.sleep(attempt.delay)
        result = await run_in_threadpool(auth.check_attempt, ctx.sessions, attempt, username,
                                         password)
        if result.ok and result.user_id is not None:
            person = await run_in_threadpool(auth.session_user, ctx.sessions, result.user_id)
            if person is not None and second_factor.required(ctx.settings.web, person.roles):
                # Half signed in: a new session that only knows who is to give a code.
                begin_session(request, None, {
                    "csrf": secrets.token_urlsafe(32), PENDING_KEY: result.user_id,
                    "pending_at": ctx.now().isoformat(), "wrong_codes": 0,
                    "next": _safe_next(next),
                })
                return RedirectResponse("/login/code", status_code=303)
            # A fresh session (and CSRF token) at sign-in: nothing from before carries over.
            begin_session(request, result.user_id, {"csrf": secrets.token_urlsafe(32)})
            return RedirectResponse(_safe_next(next), status_code=303)
        errors.append(("username", result.message))
    return render(
        request, "login.html", "Sign in", status_code=401 if not errors[0][1].startswith("Enter")
        else 400, errors=errors, next=_safe_next(next), username=username,
    )


# --- the second factor ------------------------------------------------------------------------


def _pending(request: Request) -> int | None:
    """Who is half signed in on this session (password given, code not yet), if anyone."""
    uid = request.session.get(PENDING_KEY)
    started = request.session.get("pending_at")
    if not isinstance(uid, int) or not isinstance(started, str):
        return None
    age = state(request).ctx.now() - datetime.fromisoformat(started)
    return uid if age <= timedelta(minutes=PENDING_MINUTES) else None


def _code_page(request: Request, uid: int, errors: list[tuple[str, str]] | None = None,
               status: int = 200) -> Response:
    ctx = state(request).ctx
    if second_factor.is_enrolled(ctx.sessions, uid):
        return render(request, "login_code.html", "Enter your code", errors=errors,
                      status_code=status, setup=None)
    secret = request.session.get("setup_secret")
    if not isinstance(secret, str):
        secret = second_factor.new_secret()
        request.session["setup_secret"] = secret
    person = auth.session_user(ctx.sessions, uid)
    uri = second_factor.provisioning_uri(secret, person.username if person else "staff",
                                         ctx.settings.council.name)
    return render(request, "login_code.html", "Set up your second factor", errors=errors,
                  status_code=status, setup={"secret": secret, "uri": uri})


@router.get("/login/code")
def code_page(request: Request) -> Response:
    uid = _pending(request)
    if uid is None:
        return RedirectResponse("/login", status_code=303)
    return _code_page(request, uid)


@router.post("/login/code", dependencies=[Depends(require_csrf)])
async def code_submit(request: Request,
                      code: Annotated[str, Form(max_length=100)] = "") -> Response:
    """The code from the app (or a recovery code); each wrong one holds the next longer
    (auth.code_delay), waited out without a worker thread, as at sign-in."""
    uid = _pending(request)
    if uid is not None and code.strip():
        ctx = state(request).ctx
        delay = await run_in_threadpool(
            auth.code_delay, ctx.sessions, ctx.settings.web, uid, _address(request),
            state(request).secret, ctx.now())
        if delay:
            await anyio.sleep(delay)
    return await run_in_threadpool(_code_submit, request, code)


def _address(request: Request) -> str:
    return client_address(request, state(request).ctx.settings.web.trusted_proxies)


def _code_submit(request: Request, code: str) -> Response:
    uid = _pending(request)
    if uid is None:
        end_session(request)
        request.session["flash"] = "Sign in again: that took too long"
        return RedirectResponse("/login", status_code=303)
    ctx = state(request).ctx
    target = str(request.session.get("next") or "/my-work")
    secret = request.session.get("setup_secret")
    if not code.strip():
        return _code_page(request, uid, [("code", "Enter the code")], 400)
    if isinstance(secret, str) and not second_factor.is_enrolled(ctx.sessions, uid):
        try:
            enrolled = second_factor.enrol(ctx.sessions, uid, secret, code, ctx.now())
        except BadInput as exc:
            return _code_page(request, uid, [("code", exc.message)], 400)
        begin_session(request, uid, {"csrf": secrets.token_urlsafe(32)})
        return render(request, "recovery_codes.html", "Your recovery codes",
                      codes=enrolled.recovery_codes, next=target)
    if second_factor.verify(ctx.sessions, uid, code, ctx.now(), address=_address(request),
                            secret=state(request).secret):
        begin_session(request, uid, {"csrf": secrets.token_urlsafe(32)})
        return RedirectResponse(target, status_code=303)
    wrong = int(request.session.get("wrong_codes") or 0) + 1
    if wrong >= second_factor.MAX_WRONG_CODES:
        end_session(request)
        request.session["flash"] = "Too many wrong codes: sign in again"
        return RedirectResponse("/login", status_code=303)
    request.session["wrong_codes"] = wrong
    return _code_page(request, uid, [("code", "That code is not right")], 401)


@router.get("/logout")
def logout_page(request: Request) -> Response:
    if current_user(request) is None:
        return RedirectResponse("/login", status_code=303)
    return render(request, "logout.html", "Sign out")


@router.post("/logout", dependencies=[Depends(require_csrf)])
def logout(request: Request) -> Response:
    end_session(request)
    request.session["flash"] = "You have signed out"
    return RedirectResponse("/login", status_code=303)


@router.get("/concern")
def concern_page(request: Request) -> Response:
    return _concern_form(request, {}, [])


def _concern_form(
    request: Request, values: dict[str, str], errors: list[tuple[str, str]], status: int = 200,
    refusal: tuple[str, str] | None = None, add_another: bool = False,
) -> Response:
    """The form, with VALUES as typed; REFUSAL (heading, what to do) when it was not sent (a
    date's wrong part is marked by the date_input macro, from what was typed)."""
    return render(
        request, "concern.html", "Raise a concern", status_code=status, errors=errors,
        values=concern_form.FormValues(values), relationships=concern_form.RELATIONSHIP_LABELS,
        children=range(concern_form.children_shown(values, add_another)), refusal=refusal,
        max_children=concern_form.MAX_CHILDREN,
        acknowledge_days=state(request).ctx.settings.clock("acknowledge").target,
    )


@router.post(TOO_LARGE_PATH)
def request_too_large(request: Request) -> Response:
    """Where BodyLimit sends a body too large to read (the person's browser still holds it)."""
    limit = state(request).ctx.settings.web.max_body_bytes
    return render(
        request, "message.html", "Too much to send", status_code=413,
        heading="What you sent was too long to accept",
        message=(f"We accept up to {limit // 1024} KB in one go, and nothing was sent. Use your "
                 "browser's back button: what you typed is still there. Shorten it and send it "
                 f"again, or email it to {state(request).ctx.settings.council.email}."),
    )


@router.post("/concern")
async def concern_submit(request: Request) -> Response:
    web = state(request)
    settings = web.ctx.settings
    posted = await request.form()  # the body was capped by BodyLimit before this reads it
    values = {k: v for k, v in posted.items()
              if isinstance(v, str) and k not in (CSRF_FIELD, "action")}
    action = posted.get("action")
    token = posted.get(CSRF_FIELD)
    try:
        check_csrf(request, token if isinstance(token, str) else None)
    except CsrfRefused:
        # The session expired (or the page came from elsewhere): nothing is sent, nothing typed
        # is lost; the form comes back with a fresh token.
        return _concern_form(request, values, [], status=403, refusal=(
            "Your concern has not been sent yet",
            "The page was open for a long time, so for your security we could not accept it. "
            "Everything you typed is below: check it and select “Continue” again."))
    if action == "add-child":
        return _concern_form(request, values, [], add_another=True)
    if action == "change":
        return _concern_form(request, values, [])
    checked = concern_form.check(
        values, web.ctx.now(), max_concern=web.ctx.settings.intake.max_concern_characters
    )
    if checked.errors:
        return _concern_form(
            request, values, [(e.input_id, e.message) for e in checked.errors], status=400,
        )
    if action != "send":
        # Check your answers: nothing is sent until the person has seen what they wrote.
        return render(request, "concern_check.html", "Check your answers before sending",
                      values=values, answers=concern_form.answers(values))
    sender = public_form_limit.Sender(client_address(request, settings.web.trusted_proxies),
                                      web.secret, settings.web.public_form_per_hour)
    raw = json.dumps(checked.mapping, ensure_ascii=False).encode("utf-8")
    try:
        # One transaction stores the submission and counts the send (submissions.store_raw).
        outcome = submissions.ingest_form(
            web.ctx, raw, source="public web form", actor_name=None, public=True, sender=sender
        )
    except public_form_limit.TooManySends:
        return _concern_form(request, values, [], status=429, refusal=(
            "Your concern has not been sent yet",
            "Many concerns have been sent from your connection in the last hour. Everything you "
            f"typed is below: try again in an hour, or email it to {settings.council.email}."))
    request.session["concern_sent"] = {
        "reference": outcome.reference if outcome.status == "new_case" else None,
        "status": outcome.status,
        "reply_by": outcome.reply_by.isoformat() if outcome.reply_by else None,
        "receipt_emailed": outcome.receipt_emailed,
    }
    return RedirectResponse("/concern/sent", status_code=303)


@router.get("/concern/sent")
def concern_sent(request: Request) -> Response:
    sent = request.session.pop("concern_sent", None)
    if not isinstance(sent, dict):
        return RedirectResponse("/concern", status_code=303)
    message = {
        "new_case": "Thank you for telling us about your concern.",
        "added_to_case": "Thank you. We have added this to the concern you raised before.",
        "duplicate": "Thank you. We already had this message from you.",
    }.get(str(sent.get("status")), "Thank you. We have received your concern.")
    reply_by = sent.get("reply_by")
    return render(
        request, "concern_sent.html", "Concern received",
        reference=sent.get("reference"), message=message,
        reply_by=long_date(date.fromisoformat(reply_by)) if isinstance(reply_by, str) else None,
        receipt_emailed=bool(sent.get("receipt_emailed")),
    )


@router.get("/privacy")
def privacy_notice(request: Request) -> Response:
    """What the council does with what a person tells it (linked from the concern form)."""
    return render(request, "privacy.html", "Privacy notice",
                  retention_years=state(request).ctx.settings.records.retention_years)
