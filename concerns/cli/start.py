"""The `concerns` command's entry point: the command line loads with Python's collector held
off, and what loads is kept out of its sight for the life of the command (concerns.collector)."""

from __future__ import annotations

from concerns import collector


def main() -> None:
    collector.keep_what_loads()
    with collector.loading():
        from concerns.cli.main import main as run_command_line
    run_command_line()


if __name__ == "__main__":
    main()
