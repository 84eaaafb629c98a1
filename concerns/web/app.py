"""The FastAPI application: staff pages, the public concern form and the JSON API.

Every route calls the same service functions as the CLI (`concerns.workflows`); errors from them
become pages (or JSON under /api) with the status their kind carries.
"""

from __future__ import annotations

import logging
import os
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.staticfiles import StaticFiles

from concerns.web import (
    routes_api,
    routes_conflicts,
    routes_public,
    routes_records,
    routes_register,
    routes_reports,
    routes_staff,
)
from concerns.web.deps import SignInNeeded, WebState, render
from concerns.web.security import (
    BodyLimit,
    SecurityHeaders,
    ServerSessions,
    secret_key,
)
from concerns.web.templating import compile_every_template, make_templates
from concerns.workflows.context import AppContext, build_context
from concerns.workflows.errors import ServiceError
from concerns.workflows.settings import Settings

STATIC = Path(__file__).parent / "static"
log = logging.getLogger("concerns.web")


# Set by `concerns serve --workers N` for the worker processes uvicorn starts: each builds its
# own app (and database pool) from the same settings file.
CONFIG_ENV = "CONCERNS_CONFIG"


def app_from_environment() -> FastAPI:
    """The app for one of several worker processes, from the settings named in $CONCERNS_CONFIG
    (uvicorn's factory for `--workers`)."""
    from concerns.workflows.settings import load_settings

    return create_app(load_settings(os.environ.get(CONFIG_ENV)))


def warm_up(web: WebState) -> None:
    """What a server does before it takes its first request: load what requests would
    otherwise load when first needed, and compile every template. A part that fails is logged
    (its kind only) and left to load when first used, as it would without this."""
    parts: tuple[tuple[str, Callable[[], None]], ...] = (
        ("the templates", lambda: compile_every_template(web.templates)),
        ("the services", web.ctx.warm_up),
    )
    for part, prepare in parts:
        try:
            prepare()
        except Exception as exc:  # the server still serves; the part loads when first used
            log.warning("could not prepare %s before serving (%s)", part, type(exc).__name__)


@asynccontextmanager
async def _prepared(app: FastAPI) -> AsyncIterator[None]:
    warm_up(app.state.web)
    yield


def create_app(settings: Settings, ctx: AppContext | None = None) -> FastAPI:
    ctx = ctx or build_context(settings)
    app = FastAPI(
        lifespan=_prepared,
        title="Concerns about Care",
        version="1",
        description="JSON API of the Independent Assurance Team's concerns register.",
        openapi_url="/api/openapi.json",
        docs_url=None,
        redoc_url=None,
    )
    app.state.web = WebState(
        ctx=ctx,
        templates=make_templates(),
        secret=secret_key(settings.web.secret_key, settings.var_dir),
    )
    # Innermost: an over-large body is turned away before anything reads it.
    app.add_middleware(BodyLimit, limit=settings.web.max_body_bytes)
    app.add_middleware(ServerSessions, ctx=ctx)
    app.add_middleware(
        SecurityHeaders,
        hsts_seconds=settings.web.hsts_seconds if settings.web.secure_cookies else 0,
    )
    app.mount("/static", StaticFiles(directory=STATIC, check_dir=False), name="static")
    app.include_router(routes_public.router)
    app.include_router(routes_staff.router)
    app.include_router(routes_reports.router)
    app.include_router(routes_records.router)
    app.include_router(routes_conflicts.router)
    app.include_router(routes_register.router)
    app.include_router(routes_api.router)
    _error_pages(app)
    return app


def _wants_json(request: Request) -> bool:
    return request.url.path.startswith("/api/")


def _error_pages(app: FastAPI) -> None:
    @app.exception_handler(SignInNeeded)
    async def _sign_in(request: Request, exc: SignInNeeded) -> Response:
        if _wants_json(request):
            return JSONResponse({"error": "sign in first"}, status_code=401)
        target = quote(request.url.path, safe="/")
        return RedirectResponse(f"/login?next={target}", status_code=303)

    @app.exception_handler(ServiceError)
    async def _service_error(request: Request, exc: ServiceError) -> Response:
        field = getattr(exc, "field", None)
        if _wants_json(request):
            body: dict[str, str] = {"error": exc.message}
            if field:
                body["field"] = field
            return JSONResponse(body, status_code=exc.http_status)
        heading = {
            403: "You cannot do that",
            404: "Page not found",
            409: "Someone else changed this case",
            422: "There is a problem",
        }.get(exc.http_status, "There is a problem")
        return render(
            request, "message.html", heading, status_code=exc.http_status,
            heading=heading, message=exc.message,
        )

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> Response:
        problems = [
            f"{'.'.join(str(p) for p in e.get('loc', ())[1:]) or 'request'}: {e.get('msg', '')}"
            for e in exc.errors()
        ]
        if _wants_json(request):
            return JSONResponse({"error": "; ".join(problems)}, status_code=422)
        return render(
            request, "message.html", "There is a problem", status_code=422,
            heading="There is a problem", message="; ".join(problems),
        )

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> Response:
        if _wants_json(request) or exc.status_code == 405:
            return JSONResponse({"error": str(exc.detail)}, status_code=exc.status_code,
                                headers=getattr(exc, "headers", None))
        heading = "Page not found" if exc.status_code == 404 else "There is a problem"
        return render(
            request, "message.html", heading, status_code=exc.status_code,
            heading=heading, message=str(exc.detail),
        )

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> Response:
        # The exception's type only: its message could quote personal data.
        log.error("unexpected %s on %s %s", type(exc).__name__, request.method, request.url.path)
        if _wants_json(request):
            return JSONResponse({"error": "something went wrong"}, status_code=500)
        return render(
            request, "message.html", "Sorry, there is a problem with the service",
            status_code=500, heading="Sorry, there is a problem with the service",
            message="Try again later.",
        )
