"""People on the register: recognising a repeat contact's respondent and child, and the IAT's
audited merge, split and keep-apart of people the matching was unsure about.

A new contact is compared only with people who share an indexed blocking key (email, phone,
postcode, normalised name or its Soundex block), never with the whole register. Uncertain
matches are never merged silently: they become `person_match_flags` for the IAT.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Select, Table, bindparam, insert, or_, select, union
from sqlalchemy.orm import Session

from concerns.db.models import (
    Case,
    CaseChild,
    Child,
    Contact,
    Event,
    PersonMatchFlag,
    RawSubmission,
    Respondent,
    User,
)
from concerns.db.prebuilt import Prebuilt, PrebuiltWrite
from concerns.triage.email_intake import SetAside
from concerns.triage.matching import (
    PersonKeys,
    best_match,
    child_key,
    compare_children,
    person_keys,
)
from concerns.triage.submission import ChildDetails, RespondentDetails, SubmissionError
from concerns.workflows.access.readers import load_actor
from concerns.workflows.audit import append_event
from concerns.workflows.context import AppContext
from concerns.workflows.errors import BadInput, NotAllowed, NotFound
from concerns.workflows.intake.parsing import read_raw

PEOPLE_ROLES = frozenset({"iat_officer", "iat_manager"})
# Most people an email, phone or postcode may bring back.
BLOCK_LIMIT = 200
# A name shared by more people than this says little on its own: only the most recent are
# compared (certain matches come through email, phone and postcode, which are never capped so
# low). This keeps matching as fast with 100,000 people stored as with 1,000.
NAME_BLOCK_LIMIT = 25


# --- matching a contact --------------------------------------------------------------------


def _keys_of(r: Respondent) -> PersonKeys:
    return PersonKeys(r.name_key, r.name_block, r.email_key, r.phone_key, r.postcode_key)


def _candidates_statement() -> Select[tuple[int, str, str, str | None, str | None, str | None]]:
    """Built once: each blocking key looks up its own index (a missing key matches nothing),
    and only the key columns are read."""
    live = Respondent.merged_into_id.is_(None)
    lookups = (
        (Respondent.email_key, "email", BLOCK_LIMIT),
        (Respondent.phone_key, "phone", BLOCK_LIMIT),
        (Respondent.postcode_key, "postcode", BLOCK_LIMIT),
        (Respondent.name_key, "name", NAME_BLOCK_LIMIT),
        (Respondent.name_block, "block", NAME_BLOCK_LIMIT),
    )
    ids = union(*[
        select(Respondent.id).where(column == bindparam(key), live)
        .order_by(Respondent.id.desc()).limit(limit).subquery().select()
        for column, key, limit in lookups
    ]).subquery()
    return select(
        Respondent.id, Respondent.name_key, Respondent.name_block, Respondent.email_key,
        Respondent.phone_key, Respondent.postcode_key,
    ).where(Respondent.id.in_(select(ids.c.id)))


_CANDIDATES = _candidates_statement()


# Compiled once, run on the driver's cursor: every intake asks it, and SQLAlchemy's own path
# cost several times the indexed lookups. It reads only stored rows: a caller flushes first.
_CANDIDATES_PREBUILT = Prebuilt(_CANDIDATES)


def candidates(session: Session, keys: PersonKeys) -> list[tuple[int, PersonKeys]]:
    """People sharing at least one blocking key with KEYS, as (id, keys)."""
    # What the transaction holds unflushed (a person's blanks filled in) is stored first, as the
    # ORM's autoflush did: the keys compared are the stored ones.
    session.flush()
    rows = _CANDIDATES_PREBUILT.rows(session.connection(), {
        "email": keys.email_key, "phone": keys.phone_key, "postcode": keys.postcode_key,
        "name": keys.name_key or None, "block": keys.name_block or None,
    })
    return [(r[0], PersonKeys(r[1], r[2], r[3], r[4], r[5])) for r in rows]


@dataclass(frozen=True)
class PersonMatch:
    respondent_id: int
    matched: bool  # an existing person was recognised
    flags: int  # uncertain matches newly flagged for the IAT


def match_person(
    session: Session, details: RespondentDetails, region: str, at: datetime
) -> PersonMatch:
    """The stored person this respondent is, or a new one; uncertain candidates are flagged."""
    keys = person_keys(details, region)
    chosen_id, uncertain = best_match(keys, candidates(session, keys))
    if chosen_id is not None:
        _fill_blanks(session.get_one(Respondent, chosen_id), details, keys)
        respondent_id, matched = chosen_id, True
    else:
        # A person first met is stored by one INSERT: nothing in the intake reads them back as
        # an object, and the ORM's flush of the row cost several times the statement.
        respondent_id = session.connection().execute(
            _INSERT_RESPONDENT, _respondent_values(details, keys, at)
        ).scalar_one()
        matched = False
    flagged = _flag_many(
        session,
        respondent_id,
        [(other_id, result.score, list(result.reasons)) for other_id, result in uncertain],
        at,
    )
    return PersonMatch(respondent_id, matched, flagged)


def _respondent_values(
    details: RespondentDetails, keys: PersonKeys, at: datetime
) -> dict[str, Any]:
    return {
        "name": details.name[:300],
        "email": details.email,
        "phone": details.phone,
        "address": details.address,
        "postcode": details.postcode,
        "relationship_to_child": details.relationship,
        "name_key": keys.name_key,
        "name_block": keys.name_block,
        "email_key": keys.email_key,
        "phone_key": keys.phone_key,
        "postcode_key": keys.postcode_key,
        "created_at": at,
    }


_INSERT_RESPONDENT = insert(Respondent).returning(Respondent.id)


def new_respondent(
    session: Session, details: RespondentDetails, keys: PersonKeys, at: datetime
) -> Respondent:
    respondent = Respondent(**_respondent_values(details, keys, at))
    session.add(respondent)
    session.flush()
    return respondent


def _fill_blanks(r: Respondent, details: RespondentDetails, keys: PersonKeys) -> None:
    """A repeat contact fills in what we did not know; it never overwrites what we did."""
    if not r.email and details.email:
        r.email, r.email_key = details.email, keys.email_key
    if not r.phone and details.phone:
        r.phone, r.phone_key = details.phone, keys.phone_key
    if not r.postcode and details.postcode:
        r.postcode, r.postcode_key = details.postcode, keys.postcode_key
    if not r.address and details.address:
        r.address = details.address
    if not r.relationship_to_child and details.relationship:
        r.relationship_to_child = details.relationship


def _flag(
    session: Session, a: int, b: int, score: float, reasons: list[str], at: datetime
) -> bool:
    """One flag per pair of people, ever: a pair the IAT kept apart is not raised again."""
    return _flag_many(session, a, [(b, score, reasons)], at) == 1


def _flag_many(
    session: Session, a: int, others: list[tuple[int, float, list[str]]], at: datetime
) -> int:
    """Flag A against each of OTHERS not already flagged with it, in one query whatever their
    number (an intake may bring up to BLOCK_LIMIT uncertain candidates); how many were new."""
    wanted = {b: (score, reasons) for b, score, reasons in others if b != a}
    if not wanted:
        return 0
    ids = sorted(wanted)
    rows = session.execute(
        select(PersonMatchFlag.respondent_id, PersonMatchFlag.candidate_id).where(
            or_(
                (PersonMatchFlag.respondent_id == a) & PersonMatchFlag.candidate_id.in_(ids),
                (PersonMatchFlag.candidate_id == a) & PersonMatchFlag.respondent_id.in_(ids),
            )
        )
    ).all()
    known = {r if c == a else c for r, c in rows}
    new = [b for b in ids if b not in known]
    if new:
        # One prebuilt INSERT for them all, past the ORM's unit of work: nothing in the
        # transaction reads the flags back as objects, and its flush of up to BLOCK_LIMIT rows
        # cost more than the rest of the intake.
        _INSERT_FLAG.run(session.connection(), [
            {"respondent_id": a, "candidate_id": b, "score": wanted[b][0],
             "reasons": wanted[b][1], "status": "open", "created_at": at}
            for b in new
        ])
    return len(new)


_INSERT_FLAG = PrebuiltWrite(insert(cast(Table, PersonMatchFlag.__table__)))


def match_children(
    session: Session, respondent_id: int, children: tuple[ChildDetails, ...]
) -> list[Child]:
    """Children by normalised name and date of birth (indexed). Without a date of birth on one
    side, only a child already on this person's own cases is taken as the same child."""
    if not children:
        return []  # most concerns name none: nothing to build
    own_cases = select(Case.id).where(Case.respondent_id == respondent_id)
    out: list[Child] = []
    for details in children:
        key = child_key(details.name)
        if not key:
            continue
        chosen: Child | None = None
        for stored in session.scalars(select(Child).where(Child.name_key == key).limit(500)):
            decision = compare_children(details, stored.name_key, stored.date_of_birth)
            if decision == "same":
                chosen = stored
                break
            if decision == "uncertain":
                mine = session.scalar(
                    select(CaseChild.child_id).where(
                        CaseChild.child_id == stored.id, CaseChild.case_id.in_(own_cases)
                    ).limit(1)
                )
                if mine is not None:
                    chosen = stored
                    if stored.date_of_birth is None and details.date_of_birth is not None:
                        stored.date_of_birth = details.date_of_birth
                    break
        if chosen is None:
            chosen = Child(name=details.name[:300], date_of_birth=details.date_of_birth,
                           name_key=key)
            session.add(chosen)
            session.flush()
        if chosen not in out:
            out.append(chosen)
    return out


# --- the IAT's decisions -------------------------------------------------------------------


def _iat(session: Session, actor_name: str | None) -> str:
    _, actor = load_actor(session, actor_name)
    if not actor.roles & PEOPLE_ROLES:
        raise NotAllowed("merging, splitting and reviewing people needs an IAT role")
    return actor.username


def _person(session: Session, person_id: int, what: str = "person") -> Respondent:
    person = session.get(Respondent, person_id)
    if person is None:
        raise NotFound(f"no {what} with id {person_id}")
    return person


def _summary(session: Session, r: Respondent) -> dict[str, Any]:
    refs = list(session.scalars(
        select(Case.reference).where(Case.respondent_id == r.id).order_by(Case.reference)
    ))
    return {"id": r.id, "name": r.name, "email": r.email, "phone": r.phone,
            "postcode": r.postcode, "cases": refs, "merged_into": r.merged_into_id}


def list_flags(
    ctx: AppContext, actor_name: str | None, status: str = "open"
) -> list[dict[str, Any]]:
    """Uncertain matches for the IAT to decide (status open, merged, kept_apart or all)."""
    if status not in ("open", "merged", "kept_apart", "all"):
        raise BadInput("status", "one of open, merged, kept_apart, all")
    with ctx.read() as read:
        s = read.session
        _iat(s, actor_name)
        query = select(PersonMatchFlag).order_by(PersonMatchFlag.id)
        if status != "all":
            query = query.where(PersonMatchFlag.status == status)
        out = []
        for flag in s.scalars(query):
            out.append({
                "id": flag.id, "status": flag.status, "score": flag.score,
                "reasons": list(flag.reasons or []),
                "person": _summary(s, _person(s, flag.respondent_id)),
                "candidate": _summary(s, _person(s, flag.candidate_id)),
            })
        return out


def merge_people(
    ctx: AppContext, actor_name: str | None, keep_id: int, absorb_id: int, note: str | None = None
) -> dict[str, Any]:
    """ABSORB becomes part of KEEP: its cases and contacts move over; recorded for a split."""
    if keep_id == absorb_id:
        raise BadInput("person", "cannot merge a person with themselves")
    with ctx.uow() as uow:
        s = uow.session
        actor = _iat(s, actor_name)
        keep, absorb = _person(s, keep_id), _person(s, absorb_id)
        if keep.merged_into_id is not None:
            raise BadInput("keep", f"person {keep_id} was merged into {keep.merged_into_id}")
        if absorb.merged_into_id is not None:
            raise BadInput("absorb", f"person {absorb_id} is already merged")
        at = ctx.now()
        cases = list(s.scalars(select(Case).where(Case.respondent_id == absorb.id)))
        contacts = list(s.scalars(select(Contact).where(Contact.respondent_id == absorb.id)))
        for case in cases:
            case.respondent_id = keep.id
        for contact in contacts:
            contact.respondent_id = keep.id
        absorb.merged_into_id = keep.id
        _fill_blanks(keep, _details_of(absorb), _keys_of(absorb))
        _resolve_flags(s, keep.id, absorb.id, "merged", actor, at)
        data = {"kept": keep.id, "absorbed": absorb.id, "cases": [c.id for c in cases],
                "contacts": [c.id for c in contacts]}
        s.flush()
        for case in cases:
            append_event(s, case_id=case.id, event="people_merged", actor=actor, at=at,
                         from_state=case.state, to_state=case.state, data=data, note=note)
        append_event(s, event="people_merged", actor=actor, at=at, data=data, note=note)
        result = {"kept": _summary(s, keep), "absorbed": _summary(s, absorb)}
        uow.commit()
        return result


def split_person(
    ctx: AppContext,
    actor_name: str | None,
    person_id: int,
    case_references: list[str] | None = None,
    note: str | None = None,
) -> dict[str, Any]:
    """Undo a merge (no cases given), or move the given cases to a new person re-read from
    the first contact of those cases."""
    with ctx.uow() as uow:
        s = uow.session
        actor = _iat(s, actor_name)
        person = _person(s, person_id)
        at = ctx.now()
        if not case_references:
            result = _undo_merge(s, person, actor, at, note)
        else:
            result = _split_cases(ctx, s, person, case_references, actor, at, note)
        uow.commit()
        return result


def _undo_merge(
    s: Session, person: Respondent, actor: str, at: datetime, note: str | None
) -> dict[str, Any]:
    if person.merged_into_id is None:
        raise BadInput("person", f"person {person.id} was not merged; name the cases to split")
    keep = _person(s, person.merged_into_id)
    merges = s.scalars(
        select(Event).where(Event.event == "people_merged", Event.case_id.is_(None))
        .order_by(Event.id.desc())
    )
    record = next((e.data for e in merges if e.data.get("absorbed") == person.id), None)
    if record is None:
        raise NotFound(f"no merge of person {person.id} in the audit trail")
    cases = list(s.scalars(select(Case).where(Case.id.in_(record.get("cases", [])),
                                              Case.respondent_id == keep.id)))
    contacts = list(s.scalars(select(Contact).where(Contact.id.in_(record.get("contacts", [])),
                                                    Contact.respondent_id == keep.id)))
    for case in cases:
        case.respondent_id = person.id
    for contact in contacts:
        contact.respondent_id = person.id
    person.merged_into_id = None
    _resolve_flags(s, keep.id, person.id, "kept_apart", actor, at, ("open", "merged"))
    data = {"from": keep.id, "restored": person.id, "cases": [c.id for c in cases],
            "contacts": [c.id for c in contacts]}
    s.flush()
    for case in cases:
        append_event(s, case_id=case.id, event="people_split", actor=actor, at=at,
                     from_state=case.state, to_state=case.state, data=data, note=note)
    append_event(s, event="people_split", actor=actor, at=at, data=data, note=note)
    return {"from": _summary(s, keep), "restored": _summary(s, person)}


def _split_cases(
    ctx: AppContext, s: Session, person: Respondent, references: list[str], actor: str,
    at: datetime, note: str | None,
) -> dict[str, Any]:
    wanted = sorted({r.strip().upper() for r in references if r.strip()})
    cases = list(s.scalars(select(Case).where(Case.reference.in_(wanted))))
    missing = set(wanted) - {c.reference for c in cases}
    if missing:
        raise NotFound(f"no case with reference {sorted(missing)[0][:40]}")
    if any(c.respondent_id != person.id for c in cases):
        raise BadInput("case", f"every case named must belong to person {person.id}")
    if s.scalar(select(Case.id).where(Case.respondent_id == person.id,
                                      Case.id.not_in([c.id for c in cases])).limit(1)) is None:
        raise BadInput("case", "that is every case of this person; nothing would be left")
    contacts = list(s.scalars(
        select(Contact).where(Contact.case_id.in_([c.id for c in cases]))
        .order_by(Contact.received_at)
    ))
    details = _details_from_contact(ctx, s, contacts[0]) if contacts else None
    if details is None:
        details = _details_of(person)
    region = ctx.settings.intake.default_phone_region
    new = new_respondent(s, details, person_keys(details, region), at)
    for case in cases:
        case.respondent_id = new.id
    for contact in contacts:
        contact.respondent_id = new.id
    _flag(s, person.id, new.id, 0.0, ["split by the IAT"], at)
    _resolve_flags(s, person.id, new.id, "kept_apart", actor, at)
    data = {"from": person.id, "new": new.id, "cases": [c.id for c in cases],
            "contacts": [c.id for c in contacts]}
    s.flush()
    for case in cases:
        append_event(s, case_id=case.id, event="people_split", actor=actor, at=at,
                     from_state=case.state, to_state=case.state, data=data, note=note)
    return {"from": _summary(s, person), "new": _summary(s, new)}


def keep_apart(
    ctx: AppContext, actor_name: str | None, flag_id: int, note: str | None = None
) -> dict[str, Any]:
    """The IAT decides a flagged pair are different people."""
    with ctx.uow() as uow:
        s = uow.session
        actor = _iat(s, actor_name)
        flag = s.get(PersonMatchFlag, flag_id)
        if flag is None:
            raise NotFound(f"no match flag with id {flag_id}")
        if flag.status != "open":
            raise BadInput("flag", f"already decided ({flag.status})")
        at = ctx.now()
        _resolve_flags(s, flag.respondent_id, flag.candidate_id, "kept_apart", actor, at)
        data = {"flag": flag.id, "people": [flag.respondent_id, flag.candidate_id]}
        s.flush()
        append_event(s, event="people_kept_apart", actor=actor, at=at, data=data, note=note)
        uow.commit()
        return {"id": flag.id, "status": "kept_apart"}


def _resolve_flags(
    s: Session, a: int, b: int, status: str, actor: str, at: datetime,
    current: tuple[str, ...] = ("open",),
) -> None:
    user_id = s.scalar(select(User.id).where(User.username == actor))
    for flag in s.scalars(select(PersonMatchFlag).where(
        or_((PersonMatchFlag.respondent_id == a) & (PersonMatchFlag.candidate_id == b),
            (PersonMatchFlag.respondent_id == b) & (PersonMatchFlag.candidate_id == a)),
        PersonMatchFlag.status.in_(current),
    )):
        flag.status = status
        flag.resolved_by_id = user_id
        flag.resolved_at = at


def _details_of(r: Respondent) -> RespondentDetails:
    return RespondentDetails(name=r.name, email=r.email, phone=r.phone, address=r.address,
                             postcode=r.postcode, relationship=r.relationship_to_child)


def _details_from_contact(
    ctx: AppContext, s: Session, contact: Contact
) -> RespondentDetails | None:
    if contact.raw_submission_id is None:
        return None
    raw = s.get(RawSubmission, contact.raw_submission_id)
    if raw is None:
        return None
    try:
        read = read_raw(ctx.settings, raw.channel, raw.content, raw.received_at)
    except SubmissionError:
        return None
    return None if isinstance(read, SetAside) else read.respondent
