"""`concerns serve`: the staff web app, the public concern form and the JSON API."""

from __future__ import annotations

import importlib
import logging
import threading
from typing import Annotated, Any

import typer

from concerns.workflows.context import build_context
from concerns.workflows.settings import load_settings

log = logging.getLogger("concerns.web")


def serve(
    host: Annotated[str | None, typer.Option("--host", help="Address to listen on.")] = None,
    port: Annotated[int | None, typer.Option("--port", help="Port to listen on.")] = None,
    with_scheduler: Annotated[
        bool, typer.Option("--with-scheduler", help="Also run the reminder scheduler.")
    ] = False,
    config: Annotated[
        str | None, typer.Option("--config", help="Settings file.", show_default=False)
    ] = None,
) -> None:
    """Serve the web app (default host and port from [web] in config.toml)."""
    import uvicorn

    from concerns.web import create_app

    settings = load_settings(config)
    ctx = build_context(settings)
    app = create_app(settings, ctx)
    if with_scheduler:
        _start_scheduler(ctx)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    # uvicorn's own access log would print query strings (searches carry names): ours logs
    # the path only.
    uvicorn.run(
        app,
        host=host or settings.web.host,
        port=port or settings.web.port,
        access_log=False,
        proxy_headers=True,
        server_header=False,
    )


def _start_scheduler(ctx: Any) -> None:
    try:
        scheduler = importlib.import_module("concerns.workflows.scheduler")
    except ModuleNotFoundError:
        typer.echo("error: the scheduler is not available in this version", err=True)
        raise typer.Exit(1) from None
    start = getattr(scheduler, "start_background", None) or getattr(scheduler, "start", None)
    if start is None:
        typer.echo("error: the scheduler is not available in this version", err=True)
        raise typer.Exit(1)
    thread = threading.Thread(target=start, args=(ctx,), name="scheduler", daemon=True)
    thread.start()
