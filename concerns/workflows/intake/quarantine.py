"""Reading a quarantined submission again, once the reason is dealt with (a parser improved, a
setting changed), and taking again a submission that was stored but never logged (held `new`
after a failure). The raw bytes were kept exactly as received, so nothing has to be resent."""

from __future__ import annotations

from sqlalchemy import select

from concerns.db.models import RawSubmission
from concerns.triage.email_intake import SetAside
from concerns.triage.register import RegisterEntry
from concerns.triage.submission import Submission, SubmissionError
from concerns.workflows.context import AppContext
from concerns.workflows.errors import BadInput, NotFound
from concerns.workflows.intake.parsing import read_raw, read_register_row
from concerns.workflows.intake.submissions import (
    IntakeResult,
    admit,
    held_filter,
    hold,
    log_in,
    mark_raw,
)

RETRY_ROLES = frozenset({"iat_officer", "iat_manager"})


def retry_quarantined(ctx: AppContext, actor_name: str | None, raw_id: int) -> IntakeResult:
    """Read quarantined (or held) submission RAW_ID again: logged, set aside, or quarantined
    anew."""
    with ctx.read() as read:
        actor = admit(read.session, actor_name, RETRY_ROLES)
    return _reread(ctx, actor, raw_id)


def retry_held(ctx: AppContext, actor: str) -> list[IntakeResult]:
    """Every submission stored but never logged, taken again (each mailbox poll does this).
    ACTOR was checked by the caller."""
    with ctx.read() as read:
        ids = read.session.scalars(
            select(RawSubmission.id).where(held_filter(ctx.now())).order_by(RawSubmission.id)
        ).all()
    return [_reread(ctx, actor, raw_id) for raw_id in ids]


def _reread(ctx: AppContext, actor: str, raw_id: int) -> IntakeResult:
    try:
        return _reread_once(ctx, actor, raw_id)
    except (NotFound, BadInput):
        raise
    except Exception as exc:  # still failing: kept held with the reason, tried again later
        with ctx.read() as read:
            source = read.session.scalar(
                select(RawSubmission.source).where(RawSubmission.id == raw_id)) or ""
        return hold(ctx, raw_id, source, exc)


def _reread_once(ctx: AppContext, actor: str, raw_id: int) -> IntakeResult:
    with ctx.uow() as uow:
        s = uow.session
        row = s.execute(
            select(RawSubmission.channel, RawSubmission.content, RawSubmission.source,
                   RawSubmission.received_at, RawSubmission.status)
            .where(RawSubmission.id == raw_id)
        ).first()
        if row is None:
            raise NotFound(f"no stored submission with id {raw_id}")
        channel, content, source, received_at, status = row
        if status not in ("quarantined", "new"):
            raise BadInput("id", f"submission {raw_id} is not quarantined ({status})")
        entry: RegisterEntry | None = None
        read: Submission | SetAside
        try:
            if channel == "import":
                entry = read_register_row(content, received_at, ctx.settings)
                read = entry.submission
            else:
                read = read_raw(ctx.settings, channel, content, received_at)
        except SubmissionError as exc:
            mark_raw(s, raw_id, "quarantined", str(exc))
            uow.commit()
            return IntakeResult(source, "quarantined", reason=str(exc), field=exc.field)
        if isinstance(read, SetAside):
            mark_raw(s, raw_id, "ignored", read.reason)
            uow.commit()
            return IntakeResult(source, "set_aside", reason=read.reason)
        mark_raw(s, raw_id, "new", None)
        s.flush()
        result = log_in(s, ctx, read, raw_id=raw_id, source=source, actor=actor, entry=entry)
        uow.commit()
        return result
