"""SQLAlchemy 2 models: the confidential register.

Times are stored in UTC (timezone-aware in Python); dates (deadlines) are calendar dates in
Europe/London. Blocking keys for matching (`*_key`) are indexed so a new contact is compared only
with the few people who share a key, never with the whole register.

Annotations are evaluated as the classes are made (no `from __future__ import annotations`):
SQLAlchemy then reads `Mapped[...]` as a type instead of parsing it from a string, a tenth of
loading this module, which every command does. A class named before it is defined is quoted.
"""

from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship


class UTCDateTime(TypeDecorator[datetime]):
    """Aware datetimes in, aware UTC datetimes out, on SQLite (naive storage) as on PostgreSQL."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


def utcnow() -> datetime:
    return datetime.now(UTC)


class Base(DeclarativeBase):
    type_annotation_map = {
        datetime: UTCDateTime(),
        dict[str, Any]: JSON(),
        list[Any]: JSON(),
    }


ID = BigInteger().with_variant(Integer(), "sqlite")


class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(ID, primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    full_name: Mapped[str] = mapped_column(String(200), default="")
    email: Mapped[str] = mapped_column(String(320), default="")
    # Normalised full name, for the conflict-of-interest check against `staff_named`.
    name_key: Mapped[str] = mapped_column(String(200), default="", index=True)
    password_hash: Mapped[str | None] = mapped_column(String(200))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_sign_in_at: Mapped[datetime | None]
    # The second factor (access.second_factor): the TOTP key, the last time step accepted (a code
    # works once), and the recovery codes' hashes.
    totp_secret: Mapped[str | None] = mapped_column(String(64))
    totp_last_step: Mapped[int | None] = mapped_column(BigInteger)
    recovery_codes: Mapped[list[Any]] = mapped_column(JSON, default=list)

    roles: Mapped[list["UserRole"]] = relationship(
        back_populates="user", cascade="all, delete-orphan", lazy="selectin"
    )

    @property
    def role_names(self) -> frozenset[str]:
        return frozenset(r.role for r in self.roles)


class UserRole(Base):
    __tablename__ = "user_roles"

    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    role: Mapped[str] = mapped_column(String(40), primary_key=True)

    user: Mapped["User"] = relationship(back_populates="roles")


class Respondent(Base):
    """A person who raised one or more concerns."""

    __tablename__ = "respondents"

    id: Mapped[int] = mapped_column(ID, primary_key=True)
    name: Mapped[str] = mapped_column(String(300))
    email: Mapped[str | None] = mapped_column(String(320))
    phone: Mapped[str | None] = mapped_column(String(60))
    address: Mapped[str | None] = mapped_column(Text)
    postcode: Mapped[str | None] = mapped_column(String(20))
    relationship_to_child: Mapped[str | None] = mapped_column(String(40))
    # Blocking and comparison keys, derived by triage.matching.
    name_key: Mapped[str] = mapped_column(String(300), default="", index=True)
    name_block: Mapped[str] = mapped_column(String(64), default="", index=True)
    email_key: Mapped[str | None] = mapped_column(String(320), index=True)
    phone_key: Mapped[str | None] = mapped_column(String(32), index=True)
    postcode_key: Mapped[str | None] = mapped_column(String(12), index=True)
    # Set when this record was merged into another person.
    merged_into_id: Mapped[int | None] = mapped_column(ForeignKey("respondents.id"))
    # Restriction of processing (UK GDPR art. 18): kept, but shown only to the information
    # officer and the IAT manager. The reason is in the audit trail.
    restricted_at: Mapped[datetime | None]
    # Set when every personal detail was erased (anonymisation).
    anonymised_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Child(Base):
    __tablename__ = "children"
    __table_args__ = (Index("ix_children_name_dob", "name_key", "date_of_birth"),)

    id: Mapped[int] = mapped_column(ID, primary_key=True)
    name: Mapped[str] = mapped_column(String(300))
    date_of_birth: Mapped[date | None] = mapped_column(Date)
    name_key: Mapped[str] = mapped_column(String(300), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Case(Base):
    __tablename__ = "cases"

    id: Mapped[int] = mapped_column(ID, primary_key=True)
    reference: Mapped[str] = mapped_column(String(32), unique=True)
    state: Mapped[str] = mapped_column(String(40), index=True)
    version: Mapped[int] = mapped_column(Integer, default=1)
    respondent_id: Mapped[int] = mapped_column(ForeignKey("respondents.id"), index=True)
    received_at: Mapped[datetime] = mapped_column(index=True)
    channel: Mapped[str] = mapped_column(String(20), default="web")
    involvement_from_year: Mapped[int | None] = mapped_column(Integer)
    involvement_to_year: Mapped[int | None] = mapped_column(Integer)
    # Staff named in the concern, and their normalised keys for the conflict-of-interest rule.
    staff_named: Mapped[list[Any]] = mapped_column(JSON, default=list)
    staff_named_keys: Mapped[list[Any]] = mapped_column(JSON, default=list)
    reviewer_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    # The state request_information came from, for information_received to return to.
    return_state: Mapped[str | None] = mapped_column(String(40))
    complaints_meets_criteria: Mapped[bool | None] = mapped_column(Boolean)
    complaints_reason: Mapped[str | None] = mapped_column(String(40))
    suggested_time_limit_passed: Mapped[bool | None] = mapped_column(Boolean)
    legal_proceedings: Mapped[str | None] = mapped_column(String(40))
    legal_comment: Mapped[str | None] = mapped_column(Text)
    outcome_summary: Mapped[str | None] = mapped_column(Text)
    outcome_wording: Mapped[str | None] = mapped_column(Text)
    submitted_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    authorised_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    authorised_at: Mapped[datetime | None]
    learning_review_completed: Mapped[bool] = mapped_column(Boolean, default=False)
    # Final outcome: answered, referred_to_complaints, responded, outside_framework
    outcome: Mapped[str | None] = mapped_column(String(40), index=True)
    outcome_reason: Mapped[str | None] = mapped_column(String(40))
    closed_at: Mapped[datetime | None]
    # Retention schedule (workflows/records/retention.py): not_set | retain | review |
    # to_be_destroyed | anonymised, the date it is next looked at, and why (retain).
    retention_state: Mapped[str] = mapped_column(String(20), default="not_set", index=True)
    retention_review_on: Mapped[date | None] = mapped_column(Date, index=True)
    retention_reason: Mapped[str | None] = mapped_column(Text)
    anonymised_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)

    respondent: Mapped["Respondent"] = relationship(lazy="joined")
    reviewer: Mapped["User | None"] = relationship(foreign_keys=[reviewer_id])
    children: Mapped[list["Child"]] = relationship(secondary="case_children")
    contacts: Mapped[list["Contact"]] = relationship(
        back_populates="case", order_by="Contact.received_at"
    )

    # Optimistic locking: two people acting on one case at once cannot both win.
    __mapper_args__ = {"version_id_col": version}
    # The scrutiny report's pass over the cases reads only this (migration i15_report_covering).
    __table_args__ = (
        Index("ix_cases_received_counts", "received_at", "state", "outcome",
              "learning_review_completed"),
    )
    # Migration i15_sweep_index also makes a partial index of the closed cases the sweep has
    # still to schedule for retention. It is not declared here: a `postgresql_where` would load
    # the PostgreSQL dialect in every command, on SQLite too (the migrations make the schema).


class CaseChild(Base):
    __tablename__ = "case_children"
    # The scrutiny report walks each child's cases (migration i15_scrutiny_indexes).
    __table_args__ = (Index("ix_case_children_child_case", "child_id", "case_id"),)

    case_id: Mapped[int] = mapped_column(
        ForeignKey("cases.id", ondelete="CASCADE"), primary_key=True
    )
    child_id: Mapped[int] = mapped_column(ForeignKey("children.id"), primary_key=True, index=True)


class RawSubmission(Base):
    """Every submission exactly as received, stored before any parsing."""

    __tablename__ = "raw_submissions"
    __table_args__ = (UniqueConstraint("channel", "sha256", name="uq_raw_channel_sha256"),)

    id: Mapped[int] = mapped_column(ID, primary_key=True)
    channel: Mapped[str] = mapped_column(String(20))
    source: Mapped[str] = mapped_column(String(500), default="")
    sha256: Mapped[str] = mapped_column(String(64))
    message_id: Mapped[str | None] = mapped_column(String(998), index=True)
    content: Mapped[bytes] = mapped_column(LargeBinary)
    size: Mapped[int] = mapped_column(Integer)
    received_at: Mapped[datetime] = mapped_column(default=utcnow)
    # new → contact | quarantined | ignored (auto-replies, bounces) | duplicate (a resend:
    # same Message-ID, sender and text as `duplicate_of`, whose contact it belongs to)
    status: Mapped[str] = mapped_column(String(20), default="new", index=True)
    reason: Mapped[str | None] = mapped_column(Text)
    submitted_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    duplicate_of_id: Mapped[int | None] = mapped_column(ForeignKey("raw_submissions.id"))


class Contact(Base):
    """One contact (email, form, call, letter) from a respondent, on one case."""

    __tablename__ = "contacts"
    # Covering indexes for the scrutiny report's passes (reports/scrutiny.py): by channel and
    # time, each case's contacts by respondent (migration i15_scrutiny_indexes), and a period's
    # contacts with their person and case (contacts_received_covering).
    __table_args__ = (
        Index("ix_contacts_channel_received", "channel", "received_at", "route",
              "involvement_from_year", "involvement_to_year"),
        Index("ix_contacts_case_respondent", "case_id", "respondent_id", "received_at"),
        Index("ix_contacts_received_cover", "received_at", "respondent_id", "case_id"),
    )

    id: Mapped[int] = mapped_column(ID, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    respondent_id: Mapped[int] = mapped_column(ForeignKey("respondents.id"), index=True)
    raw_submission_id: Mapped[int | None] = mapped_column(
        ForeignKey("raw_submissions.id"), index=True
    )
    received_at: Mapped[datetime] = mapped_column()
    channel: Mapped[str] = mapped_column(String(20))
    # Who forwarded it to the IAT (communications team, executive assistant), if anyone.
    route: Mapped[str | None] = mapped_column(String(320))
    subject: Mapped[str | None] = mapped_column(Text)
    concern: Mapped[str] = mapped_column(Text)
    involvement_from_year: Mapped[int | None] = mapped_column(Integer)
    involvement_to_year: Mapped[int | None] = mapped_column(Integer)
    consent_to_contact: Mapped[bool | None] = mapped_column(Boolean)
    # Fields that were present but malformed, kept for the IAT to check.
    flags: Mapped[list[Any]] = mapped_column(JSON, default=list)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    case: Mapped["Case"] = relationship(back_populates="contacts")
    attachments: Mapped[list["Attachment"]] = relationship(lazy="selectin")


class Attachment(Base):
    __tablename__ = "attachments"

    id: Mapped[int] = mapped_column(ID, primary_key=True)
    contact_id: Mapped[int] = mapped_column(ForeignKey("contacts.id"), index=True)
    filename: Mapped[str] = mapped_column(String(500))
    content_type: Mapped[str] = mapped_column(String(200))
    size: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    content: Mapped[bytes] = mapped_column(LargeBinary, deferred=True)


class PersonMatchFlag(Base):
    """An uncertain match between two people, left for the IAT to merge or keep apart."""

    __tablename__ = "person_match_flags"

    id: Mapped[int] = mapped_column(ID, primary_key=True)
    respondent_id: Mapped[int] = mapped_column(ForeignKey("respondents.id"), index=True)
    candidate_id: Mapped[int] = mapped_column(ForeignKey("respondents.id"), index=True)
    score: Mapped[float]
    reasons: Mapped[list[Any]] = mapped_column(JSON, default=list)
    status: Mapped[str] = mapped_column(String(20), default="open", index=True)
    resolved_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    resolved_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Escalation(Base):
    __tablename__ = "escalations"

    id: Mapped[int] = mapped_column(ID, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    severity: Mapped[str] = mapped_column(String(20))
    to: Mapped[str] = mapped_column(Text)
    note: Mapped[str | None] = mapped_column(Text)
    raised_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    raised_at: Mapped[datetime] = mapped_column(default=utcnow)
    resolved_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    resolved_at: Mapped[datetime | None]


class Deadline(Base):
    """One run of an SLA clock on a case."""

    __tablename__ = "deadlines"
    __table_args__ = (
        # The sweep's range; with the clock and case, the report's overdue counts need no row.
        Index("ix_deadlines_open_due", "status", "due_date", "clock", "case_id"),
        # The scrutiny report's timeliness pass reads only this, in order (migration
        # i15_scrutiny_indexes).
        Index("ix_deadlines_met", "status", "met_on", "clock", "working_days_taken",
              "extended_days", "due_date"),
    )

    id: Mapped[int] = mapped_column(ID, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    clock: Mapped[str] = mapped_column(String(40))
    # running | paused | met | stopped (stopped: closed without being met, e.g. case closed)
    status: Mapped[str] = mapped_column(String(20), default="running")
    started_on: Mapped[date] = mapped_column(Date)
    target_days: Mapped[int] = mapped_column(Integer)
    working_days: Mapped[bool] = mapped_column(Boolean, default=True)
    due_date: Mapped[date] = mapped_column(Date)
    owner_role: Mapped[str] = mapped_column(String(40))
    owner_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    paused_on: Mapped[date | None] = mapped_column(Date)
    # Working days left when paused, restored on resume.
    remaining_days: Mapped[int | None] = mapped_column(Integer)
    # Why the due date is what it is: base date, days, holidays and pauses skipped, extensions.
    explanation: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    extended_reason: Mapped[str | None] = mapped_column(Text)
    escalation_id: Mapped[int | None] = mapped_column(ForeignKey("escalations.id"))
    met_at: Mapped[datetime | None]
    # Kept when the clock stops, so timeliness is one SQL aggregate: the local day it was met,
    # the working days it ran (pauses left out) and the working days extensions added.
    met_on: Mapped[date | None] = mapped_column(Date)
    working_days_taken: Mapped[int | None] = mapped_column(Integer)
    extended_days: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class ReviewFinding(Base):
    """One finding of a learning review, tagged with a theme from `[learning.themes]`."""

    __tablename__ = "review_findings"
    # The scrutiny report's passes over the current findings read these alone: by theme and
    # time (migration lead_findings_covering), and their distinct cases, in all and by theme
    # (migration scrutiny_findings_cases).
    __table_args__ = (
        Index("ix_review_findings_theme_cover", "theme", "superseded_at", "recorded_at",
              "case_id"),
        Index("ix_review_findings_current_cases", "superseded_at", "case_id", "recorded_at"),
        Index("ix_review_findings_current_theme_cases", "superseded_at", "theme", "case_id",
              "recorded_at"),
    )

    id: Mapped[int] = mapped_column(ID, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    theme: Mapped[str] = mapped_column(String(60), index=True)
    finding: Mapped[str] = mapped_column(String(300))
    recorded_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    recorded_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    # Set when the director authorises the outcome; a resubmitted outcome replaces the findings
    # of the one sent back (superseded, kept for the record).
    authorised_at: Mapped[datetime | None]
    superseded_at: Mapped[datetime | None]


class LearningAction(Base):
    """An action arising from a learning review: tracked on its own clock until closed with
    evidence, after the case itself has closed if need be."""

    __tablename__ = "learning_actions"

    id: Mapped[int] = mapped_column(ID, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    theme: Mapped[str] = mapped_column(String(60), index=True)
    description: Mapped[str] = mapped_column(String(500))
    owner_service: Mapped[str] = mapped_column(String(200))
    due_date: Mapped[date] = mapped_column(Date)
    # open | completed | withdrawn (an outcome sent back and resubmitted without it)
    status: Mapped[str] = mapped_column(String(20), default="open", index=True)
    deadline_id: Mapped[int | None] = mapped_column(ForeignKey("deadlines.id"))
    evidence: Mapped[str | None] = mapped_column(Text)
    created_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    authorised_at: Mapped[datetime | None]
    completed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    completed_at: Mapped[datetime | None]


class Notification(Base):
    """A reminder, escalation or letter email: created once (unique key), delivered from here."""

    __tablename__ = "notifications"
    __table_args__ = (Index("ix_notifications_outbox", "status", "send_after"),)

    id: Mapped[int] = mapped_column(ID, primary_key=True)
    # Unique per (case, clock, level, due date) for reminders; per letter for letter emails.
    key: Mapped[str] = mapped_column(String(300), unique=True)
    kind: Mapped[str] = mapped_column(String(30))
    case_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id"), index=True)
    deadline_id: Mapped[int | None] = mapped_column(ForeignKey("deadlines.id"))
    letter_id: Mapped[int | None] = mapped_column(ForeignKey("letters.id"))
    level: Mapped[str | None] = mapped_column(String(30))
    recipient_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    to_address: Mapped[str] = mapped_column(String(320))
    subject: Mapped[str] = mapped_column(String(500))
    body: Mapped[str] = mapped_column(Text)
    # pending | sent | failed (gave up after max attempts)
    status: Mapped[str] = mapped_column(String(20), default="pending")
    send_after: Mapped[datetime] = mapped_column(default=utcnow)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    claimed_by: Mapped[str | None] = mapped_column(String(100))
    claimed_until: Mapped[datetime | None]
    sent_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Letter(Base):
    __tablename__ = "letters"

    id: Mapped[int] = mapped_column(ID, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    kind: Mapped[str] = mapped_column(String(40))
    recipient_name: Mapped[str] = mapped_column(String(300))
    html: Mapped[str] = mapped_column(Text)
    pdf: Mapped[bytes | None] = mapped_column(LargeBinary, deferred=True)
    sha256: Mapped[str | None] = mapped_column(String(64))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    signed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    signed_at: Mapped[datetime | None]
    signed_sha256: Mapped[str | None] = mapped_column(String(64))
    sent_at: Mapped[datetime | None]
    sent_method: Mapped[str | None] = mapped_column(String(10))


class LetterPreview(Base):
    """A letter being checked before it goes, held for the check page's frame so that whichever
    web worker serves the frame finds it. Keyed by the SHA-256 of an unguessable token (a copy of
    the database hands out no previews); only for the member of staff and case it was made for;
    deleted when its event fires and, once expired, by the scheduler's cycle."""

    __tablename__ = "letter_previews"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    event: Mapped[str] = mapped_column(String(40))
    html: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(index=True)


class ReferenceCounter(Base):
    """Last case number used per year, for references like CAC-2026-0001."""

    __tablename__ = "reference_counters"

    year: Mapped[int] = mapped_column(Integer, primary_key=True)
    last: Mapped[int] = mapped_column(Integer, default=0)


class Event(Base):
    """The audit trail: append-only, each row hash-chained to the one before."""

    __tablename__ = "events"

    id: Mapped[int] = mapped_column(ID, primary_key=True)
    case_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id"), index=True)
    event: Mapped[str] = mapped_column(String(60))
    actor: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime] = mapped_column(default=utcnow)
    from_state: Mapped[str | None] = mapped_column(String(40))
    to_state: Mapped[str | None] = mapped_column(String(40))
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    note: Mapped[str | None] = mapped_column(Text)
    # The personal payload (data, note) is chained through its salted hash, so it can be
    # erased without breaking the chain (workflows/audit.py, docs/records.md).
    payload_salt: Mapped[str | None] = mapped_column(String(32))
    payload_hash: Mapped[str] = mapped_column(String(64), default="")
    erased_at: Mapped[datetime | None]
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64), unique=True)


class Erasure(Base):
    """A case anonymised (the erased-people list): a restore re-applies every row of it.

    The same list is also kept outside the database (`records.erasure_log`), because a restore
    from an older backup replaces this table with the backup's own.
    """

    __tablename__ = "erasures"

    id: Mapped[int] = mapped_column(ID, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), unique=True)
    reference: Mapped[str] = mapped_column(String(32))
    respondent_id: Mapped[int] = mapped_column(ForeignKey("respondents.id"), index=True)
    actor: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime] = mapped_column(default=utcnow)


class CaseConflict(Base):
    """A member of staff named, or perhaps named, in a concern (triage.conflict). "excluded" bars
    them from the case; "flagged" bars them until the IAT manager clears it (or confirms it)."""

    __tablename__ = "case_conflicts"
    __table_args__ = (UniqueConstraint("case_id", "user_id", name="uq_case_conflict"),)

    id: Mapped[int] = mapped_column(ID, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    finding: Mapped[str] = mapped_column(String(20))  # excluded | flagged
    source: Mapped[str] = mapped_column(String(20))  # staff_named | concern_text
    mention: Mapped[str] = mapped_column(String(300))
    status: Mapped[str] = mapped_column(String(20), default="open")  # open|confirmed|cleared
    decided_by: Mapped[str | None] = mapped_column(String(64))
    decided_at: Mapped[datetime | None]
    reason: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class StaffSession(Base):
    """A web session, kept on the server: the cookie holds only a random id (stored here as its
    SHA-256), so ending the row ends the session wherever the cookie was copied."""

    __tablename__ = "staff_sessions"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    ended_at: Mapped[datetime | None]


class SignInFailure(Base):
    """One failed sign-in, for throttling shared by every web process: keyed by the address and
    by a hash of the username typed (never the text itself)."""

    __tablename__ = "sign_in_failures"

    id: Mapped[int] = mapped_column(ID, primary_key=True)
    at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    address_key: Mapped[str] = mapped_column(String(64), index=True)
    account_key: Mapped[str] = mapped_column(String(64), index=True)


class PublicFormSend(Base):
    """One concern accepted from the public form, for its rate limit shared by every web
    process: keyed by the sending address, hashed with the server's key (never the address)."""

    __tablename__ = "public_form_sends"

    id: Mapped[int] = mapped_column(ID, primary_key=True)
    at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    address_key: Mapped[str] = mapped_column(String(64), index=True)


class SubjectAccessRequest(Base):
    """A person's request for a copy of what the register holds about them (UK GDPR art. 15).

    `redactions` lists what the bundle hides: third parties (by person id and field, resolved
    when the bundle is built, so nothing of theirs is copied here) and staff emails (by user id),
    found automatically, and words the information officer adds during the review. The officer's
    words are cleared at release; the audit trail records each change without the words.
    """

    __tablename__ = "subject_access_requests"

    id: Mapped[int] = mapped_column(ID, primary_key=True)
    respondent_id: Mapped[int] = mapped_column(ForeignKey("respondents.id"), index=True)
    # The person's case the request's clock and audit rows hang on (their latest).
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    # review | released
    status: Mapped[str] = mapped_column(String(20), default="review")
    redactions: Mapped[list[Any]] = mapped_column(JSON, default=list)
    requested_by: Mapped[str] = mapped_column(String(64))
    requested_at: Mapped[datetime] = mapped_column(default=utcnow)
    released_by: Mapped[str | None] = mapped_column(String(64))
    released_at: Mapped[datetime | None]
    bundle_sha256: Mapped[str | None] = mapped_column(String(64))
