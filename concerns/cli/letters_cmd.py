"""`concerns letters …`: render letters on letterhead, and check edited templates."""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from concerns.cli.common import (
    AsOpt,
    Call,
    ConfigOpt,
    JsonOpt,
    call,
    emit,
    fail,
    handled,
    table,
)
from concerns.cli.lazy import lazy_import
from concerns.letters.content import KINDS
from concerns.workflows.errors import BadInput
from concerns.workflows.settings import load_settings

if TYPE_CHECKING:
    from concerns import letters
    from concerns.workflows import letters_service, posting
    from concerns.workflows.letters_service import LetterFile
else:
    letters = lazy_import("concerns.letters")
    letters_service = lazy_import("concerns.workflows.letters_service")
    posting = lazy_import("concerns.workflows.posting")

app = typer.Typer(help="Letters on letterhead: preview and render.", no_args_is_help=True)


def _write(path: Path, data: bytes) -> None:
    """All of the file or none of it: write beside it, then move into place."""
    folder = path.parent if str(path.parent) else Path(".")
    if not folder.is_dir():
        raise BadInput("--out", "no such folder")
    fd, tmp = tempfile.mkstemp(prefix=".letter-", dir=folder)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


@app.command("render")
@handled
def render(
    reference: Annotated[str, typer.Argument(help="Case reference, e.g. CAC-2026-0001.")],
    kind: Annotated[str, typer.Argument(help=f"Letter kind: {', '.join(KINDS)}.")],
    fmt: Annotated[str, typer.Option("--format", help="html, pdf or docx.")] = "pdf",
    out: Annotated[
        Path | None,
        typer.Option(
            "--out",
            help="File to write (default: standard output, or "
            "REF-KIND.FORMAT here when output is a terminal or --json is given).",
        ),
    ] = None,
    json_out: JsonOpt = False,
    as_user: AsOpt = None,
    config: ConfigOpt = None,
) -> None:
    """The case's letter of KIND: the stored letter exactly as stored, else a preview.

    A signed letter is never re-rendered: its stored PDF comes back byte for byte.
    """
    c = call(json_out, as_user, config)
    if fmt not in letters.FORMATS:
        raise BadInput("--format", f"must be one of {', '.join(letters.FORMATS)}")
    letter = letters_service.render_case_letter(c.ctx, c.user, reference, kind, fmt)
    binary = fmt != "html"
    if out is None and not c.json and not (binary and sys.stdout.isatty()):
        sys.stdout.buffer.write(letter.data)
        sys.stdout.flush()
        return
    target = out or Path(letter.filename)
    _write(target, letter.data)
    emit(c, _summary(letter, target), _human)


def _summary(letter: LetterFile, target: Path) -> dict[str, Any]:
    return {
        "reference": letter.reference,
        "kind": letter.kind,
        "format": letter.format,
        "out": str(target),
        "bytes": len(letter.data),
        "sha256": letter.sha256,
        "letter_id": letter.letter_id,
        "stored": letter.letter_id is not None,
        "signed": letter.signed,
    }


def _human(d: dict[str, Any]) -> str:
    what = "signed letter" if d["signed"] else "stored letter" if d["stored"] else "preview"
    return f"Wrote {d['out']} ({what}, {d['bytes']} bytes, SHA-256 {d['sha256']})."


PREVIEW_SUFFIXES = {".html": "html", ".htm": "html", ".pdf": "pdf", ".docx": "docx"}


# A preview reads the person's details, and every view of a case is audited.
AUDITED = "The audit trail records that you looked at it."


def preview_event(
    c: Call, reference: str, event: str, values: dict[str, str], expected_version: int | None,
    out: Path | None,
) -> None:
    """`case act REF EVENT --preview`: the letter the event would make, through the same service
    as the web's check page; the event is not fired and no letter is stored."""
    fmt = None
    if out is not None:
        fmt = PREVIEW_SUFFIXES.get(out.suffix.lower())
        if fmt is None:
            raise BadInput("--out", "the file name must end in .html, .pdf or .docx")
    shown = letters_service.preview_event_letter(
        c.ctx, c.user, reference, event, values, expected_version=expected_version
    )
    if shown is None:
        raise BadInput("--preview", f"{event} makes no letter on case {reference.upper()} "
                       "(it makes none, or the person is answered by phone)")
    what = "a draft of the letter made later" if shown.draft else "the letter it would make"
    summary: dict[str, Any] = {
        "reference": shown.reference, "event": shown.event, "kind": shown.kind,
        "draft": shown.draft, "sha256": shown.sha256, "fired": False, "stored": False,
    }
    if out is not None and fmt is not None:
        data = shown.file(fmt)
        _write(out, data)
        summary |= {"out": str(out), "format": fmt, "bytes": len(data)}
        emit(c, summary, f"Wrote {out}: {what} ({event} on {shown.reference}); nothing was "
             f"sent or stored. {AUDITED}")
        return
    summary["text"] = shown.text()
    emit(c, summary, f"Preview of {what} ({event} on {shown.reference}); nothing was sent or "
         f"stored. {AUDITED}\n\n{summary['text']}".rstrip())


@app.command("to-post")
@handled
def to_post(json_out: JsonOpt = False, as_user: AsOpt = None, config: ConfigOpt = None) -> None:
    """Letters waiting to be posted (the person gave no email address), oldest first."""
    c = call(json_out, as_user, config)
    rows = [x.to_dict() for x in posting.letters_to_post(c.ctx, c.user)]

    def human(rs: list[dict[str, Any]]) -> str:
        if not rs:
            return "No letters are waiting to be posted."
        hint = (
            "\nPrint one with `concerns letters render REF KIND --out FILE`; once posted, "
            "record it with `concerns letters posted REF LETTER_ID`."
        )
        return table(rs, ["letter_id", "reference", "kind", "recipient_name", "made_at"]) + hint

    emit(c, rows, human)


@app.command("posted")
@handled
def posted(
    reference: Annotated[str, typer.Argument(help="Case reference, e.g. CAC-2026-0001.")],
    letter_id: Annotated[str, typer.Argument(metavar="LETTER_ID", help="From `letters to-post`.")],
    json_out: JsonOpt = False,
    as_user: AsOpt = None,
    config: ConfigOpt = None,
) -> None:
    """Record that the letter was posted (executive assistant); a letter is posted only once."""
    c = call(json_out, as_user, config)
    done = posting.mark_posted(c.ctx, c.user, reference, _whole_number("LETTER_ID", letter_id))
    emit(
        c,
        done.to_dict(),
        f"{done.reference}: letter {done.letter_id} ({done.kind}) recorded as posted.",
    )


def _whole_number(name: str, text: str) -> int:
    try:
        value = int(text.strip())
    except ValueError:
        raise BadInput(name, f"expected a whole number, got {text[:40]!r}") from None
    if value < 1:
        raise BadInput(name, "must be 1 or more")
    return value


@app.command("check")
@handled
def check(json_out: JsonOpt = False, config: ConfigOpt = None) -> None:
    """Check the letter templates (the council's edited folder, if set) before they are used."""
    c = call(json_out, None, config)
    settings = load_settings(c.config)
    folder_setting = settings.council.letter_templates
    folder = None
    if folder_setting:
        folder = Path(folder_setting)
        if not folder.is_absolute():
            folder = settings.base_dir / folder
        if not folder.is_dir():
            raise BadInput("council.letter_templates", "no such folder")
    problems = letters.check_templates(folder)
    data = {
        "folder": str(folder) if folder else None,
        "problems": [
            {"template": p.template, "line": p.line, "problem": p.problem} for p in problems
        ],
    }
    if c.json:
        emit(c, data)
    elif not problems:
        typer.echo("The letter templates are fine.")
    if problems:
        if not c.json:
            for p in problems:
                where = f"{p.template}, line {p.line}" if p.line else p.template
                typer.echo(f"error: template {where}: {p.problem}", err=True)
        fail(f"{len(problems)} problem(s) in the letter templates", 2)
