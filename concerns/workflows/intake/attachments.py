"""A file that came with a contact (an email's attachment, an attached or digested message kept
as .eml), downloaded by someone who may read its case. Every download goes into the audit
trail, without the file's name (it can carry personal data)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select

from concerns.db.models import Attachment, Contact
from concerns.workflows.access.need_to_know import may_read
from concerns.workflows.access.readers import readable_case
from concerns.workflows.audit import append_event
from concerns.workflows.context import AppContext
from concerns.workflows.errors import NotFound

# Types a browser may be told; anything else is served as bytes to save, never to run here.
SAFE_TYPES = frozenset({"message/rfc822", "application/pdf", "image/png", "image/jpeg",
                        "image/gif", "text/plain"})


@dataclass(frozen=True)
class AttachmentFile:
    filename: str
    media_type: str
    data: bytes


def contact_attachment(
    ctx: AppContext, actor_name: str | None, reference: str, attachment_id: int
) -> AttachmentFile:
    with ctx.uow() as uow:
        s = uow.session
        user, actor, case = readable_case(s, actor_name, reference)
        # A file a person sent with their concern is the concern's (need to know).
        may_read(actor, case.state, "concern", case.reference)
        found = s.execute(
            select(Attachment).join(Contact, Contact.id == Attachment.contact_id)
            .where(Attachment.id == attachment_id, Contact.case_id == case.id)
        ).scalar_one_or_none()
        if found is None:
            raise NotFound(f"no attachment {attachment_id} on {reference}")
        append_event(s, event="attachment_downloaded", actor=user.username, at=ctx.now(),
                     case_id=case.id, data={"attachment_id": found.id, "size": found.size})
        result = AttachmentFile(
            filename=found.filename,
            media_type=found.content_type if found.content_type in SAFE_TYPES
            else "application/octet-stream",
            data=bytes(found.content),
        )
        uow.commit()
    return result
