"""`concerns serve`: the staff web app, the public concern form and the JSON API."""

from __future__ import annotations

import copy
import logging
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
    config: ConfigOpt = None,
) -> None:
    """Serve the web app: staff pages, the public concern form at /concern, and /api."""
    _serve(host, port, with_scheduler, config)


@handled
def _serve(host: str | None, port: int | None, with_scheduler: bool, config: str | None) -> None:
    import uvicorn

    from concerns.db.engine import schema_is_current
    from concerns.web import create_app

    ctx = call(False, None, config).ctx
    if not schema_is_current(ctx.engine):
        fail("the database is not initialised or not up to date: run `concerns init` first", 1)
    app = create_app(ctx.settings, ctx)
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
    uvicorn.run(
        app,
        host=host or ctx.settings.web.host,
        port=port or ctx.settings.web.port,
        access_log=False,
        # X-Forwarded-For is read by the app, and only from `web.trusted_proxies`.
        proxy_headers=False,
        server_header=False,
        log_level="info",
        log_config=log_config(),
    )
