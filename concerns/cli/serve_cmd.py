"""`concerns serve`: the staff web app, the public concern form and the JSON API."""

from __future__ import annotations

import copy
import logging
from pathlib import Path
from typing import Annotated, Any

import typer

from concerns.cli.common import ConfigOpt, call, fail, handled

log = logging.getLogger("concerns.web")


class NoTracebacks(logging.Filter):
    """The server's output never holds a traceback: its frames can quote personal data (a
    concern's text, a name in a query). The exception's type stays; the detail is dropped."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.exc_info:
            kind = record.exc_info[0].__name__ if record.exc_info[0] else "error"
            record.msg = f"{record.getMessage()} ({kind})"
            record.args = ()
            record.exc_info = None
            record.exc_text = None
        record.stack_info = None
        return True


def log_config() -> dict[str, Any]:
    """uvicorn's logging, with every handler (ours included) dropping tracebacks."""
    from uvicorn.config import LOGGING_CONFIG

    config = copy.deepcopy(LOGGING_CONFIG)
    config["filters"] = {"no_tracebacks": {"()": NoTracebacks}}
    for handler in config["handlers"].values():
        handler["filters"] = ["no_tracebacks"]
    return config


def serve(
    host: Annotated[
        str | None, typer.Option("--host", help="Address to listen on (default [web] host).",
                                 show_default=False)
    ] = None,
    port: Annotated[
        int | None, typer.Option("--port", min=1, max=65535,
                                 help="Port to listen on (default [web] port).",
                                 show_default=False)
    ] = None,
    with_scheduler: Annotated[
        bool, typer.Option("--with-scheduler",
                           help="Also run the reminder scheduler in this process.")
    ] = False,
    workers: Annotated[
        int, typer.Option("--workers", min=1, max=64,
                          help="Worker processes serving requests (each with its own database "
                               "connections; use PostgreSQL for more than one).")
    ] = 1,
    config: ConfigOpt = None,
) -> None:
    """Serve the web app: staff pages, the public concern form at /concern, and /api."""
    _serve(host, port, with_scheduler, config, workers)


@handled
def _serve(host: str | None, port: int | None, with_scheduler: bool, config: str | None,
           workers: int = 1) -> None:
    import os

    import uvicorn

    from concerns.db.engine import schema_is_current
    from concerns.web import create_app
    from concerns.web.app import CONFIG_ENV

    ctx = call(False, None, config).ctx
    if not schema_is_current(ctx.engine):
        fail("the database is not initialised or not up to date: run `concerns init` first", 1)
    logging.basicConfig(format="%(asctime)s %(levelname)s %(name)s %(message)s")
    for handler in logging.getLogger().handlers:
        handler.addFilter(NoTracebacks())
    # A running server logs each request (method, path, status, time) and the scheduler's work.
    logging.getLogger("concerns").setLevel(logging.INFO)
    if with_scheduler:
        from concerns.workflows.scheduler import start_background

        start_background(ctx)
    # uvicorn's own access log prints query strings (searches carry names): ours logs the path
    # only (concerns.web.security).
    app: Any = create_app(ctx.settings, ctx) if workers == 1 else None
    if workers > 1:
        # Each worker process builds the app from the same settings (uvicorn needs an import
        # string to start workers); the scheduler, if asked for, runs here, once.
        if ctx.settings.database_url.startswith("sqlite"):
            log.warning("several workers on SQLite take turns at its single write lock")
        if config:
            os.environ[CONFIG_ENV] = str(Path(config).resolve())
        os.environ.setdefault("CONCERNS_DATABASE_URL", ctx.settings.database_url)
        app = "concerns.web.app:app_from_environment"
    uvicorn.run(
        app,
        factory=workers > 1,
        workers=workers if workers > 1 else None,
        host=host or ctx.settings.web.host,
        port=port or ctx.settings.web.port,
        access_log=False,
        # X-Forwarded-For is read by the app, and only from `web.trusted_proxies`.
        proxy_headers=False,
        server_header=False,
        log_level="info",
        log_config=log_config(),
    )
