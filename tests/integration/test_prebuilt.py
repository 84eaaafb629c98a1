"""A prebuilt statement (db.prebuilt) gives the rows SQLAlchemy gives for the same statement:
the same values of the same types, aware UTC times, JSON lists and booleans included, on SQLite
and on PostgreSQL, in the caller's transaction; an error is SQLAlchemy's, without parameters. A
prebuilt write stores what SQLAlchemy stores (defaults included), and an object attached from a
prebuilt row behaves as one a query loaded."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any, cast

import pytest
from sqlalchemy import Table, bindparam, event, insert, inspect, select, text, update
from sqlalchemy.exc import DBAPIError

from concerns.db.models import Case, Deadline, Respondent
from concerns.db.prebuilt import Prebuilt, PrebuiltWrite, attach, one_of
from concerns.workflows.context import AppContext
from tests.factories import act, create_staff, log_concern


def test_a_prebuilt_statement_reads_what_sqlalchemy_reads(ctx: AppContext) -> None:
    create_staff(ctx)
    first = log_concern(ctx, name="Ada Lovelace")
    second = log_concern(ctx, name="Grace Hopper")
    act(ctx, first, "acknowledge", "alex")
    statement = (
        select(Case.id, Case.reference, Case.state, Case.received_at, Case.staff_named_keys,
               Case.complaints_meets_criteria, Respondent.name, Respondent.restricted_at)
        .join(Respondent, Respondent.id == Case.respondent_id)
        .where(Case.reference != bindparam("not_this"), one_of(Case.state, ("logged", "triage")))
        .order_by(Case.id)
    )
    prebuilt = Prebuilt(statement)
    with ctx.read() as read:
        conn = read.session.connection()
        expected = [tuple(row) for row in conn.execute(statement, {"not_this": "none"})]
        got = prebuilt.rows(conn, {"not_this": "none"})
        # Twice: the second run uses what the first compiled.
        again = prebuilt.rows(conn, {"not_this": first})
    assert got == expected
    assert [type(v) for row in got for v in row] == [type(v) for row in expected for v in row]
    assert [row[1] for row in got] == [first, second]
    assert got[0][3].tzinfo is not None and got[0][3].utcoffset() == UTC.utcoffset(None)
    assert isinstance(got[0][4], list)
    assert [row[1] for row in again] == [second]


def test_a_prebuilt_statement_reads_in_the_callers_transaction(ctx: AppContext) -> None:
    create_staff(ctx)
    reference = log_concern(ctx, name="Ada Lovelace")
    prebuilt = Prebuilt(select(Case.state).where(Case.reference == bindparam("reference")))
    with ctx.uow() as uow:
        conn = uow.session.connection()
        conn.execute(text("UPDATE cases SET state = 'triage' WHERE reference = :r"),
                     {"r": reference})
        assert prebuilt.rows(conn, {"reference": reference}) == [("triage",)]
    with ctx.read() as read:
        assert prebuilt.rows(read.session.connection(), {"reference": reference}) == [("logged",)]


def test_a_prebuilt_statement_fails_as_sqlalchemy_does_without_its_parameters(
    ctx: AppContext,
) -> None:
    create_staff(ctx)
    secret = "Ada Lovelace, 1 Secret Street"
    broken = Prebuilt(select(Case.id).where(Case.reference == bindparam("reference"))
                      .where(text("no_such_column = 1")))
    with ctx.read() as read, pytest.raises(DBAPIError) as failure:
        broken.rows(read.session.connection(), {"reference": secret})
    assert secret not in str(failure.value)


def test_a_prebuilt_statement_takes_no_list_of_values() -> None:
    from sqlalchemy.dialects import sqlite

    expanding = Prebuilt(select(Case.id).where(Case.reference.in_(bindparam("refs",
                                                                             expanding=True))))
    with pytest.raises(ValueError, match="expanding"):
        expanding._compile(sqlite.dialect())


def test_a_time_comes_back_as_written(ctx: AppContext) -> None:
    create_staff(ctx)
    reference = log_concern(ctx, name="Ada Lovelace")
    with ctx.uow() as uow:
        uow.session.execute(
            Case.__table__.update().where(Case.reference == reference)
            .values(received_at=datetime(2026, 3, 2, 9, 15, 30, 123456, tzinfo=UTC)))
        uow.commit()
    prebuilt = Prebuilt(select(Case.received_at).where(Case.reference == bindparam("r")))
    with ctx.read() as read:
        rows = prebuilt.rows(read.session.connection(), {"r": reference})
    assert rows == [(datetime(2026, 3, 2, 9, 15, 30, 123456, tzinfo=UTC),)]


_CASES = cast(Table, Case.__table__)
_DEADLINES = cast(Table, Deadline.__table__)


# --- writes and attached objects ----------------------------------------------------------


def _stored(ctx: AppContext, reference: str) -> tuple[Any, ...]:
    with ctx.read() as read:
        row = read.session.execute(
            select(Case.state, Case.version, Case.updated_at, Case.staff_named)
            .where(Case.reference == reference)
        ).one()
    return tuple(row)


def test_a_prebuilt_update_writes_what_sqlalchemy_writes_and_counts_the_rows_matched(
    ctx: AppContext,
) -> None:
    create_staff(ctx)
    reference = log_concern(ctx, name="Ada Lovelace")
    update_case = PrebuiltWrite(
        update(_CASES).where(_CASES.c.reference == bindparam("where_reference"),
                             _CASES.c.version == bindparam("where_version"))
    )
    at = datetime(2026, 3, 2, 9, 15, 30, 123456, tzinfo=UTC)
    with ctx.uow() as uow:
        conn = uow.session.connection()
        matched = update_case.run(conn, [{
            "state": "triage", "version": 2, "updated_at": at, "staff_named": ["Alex Morgan"],
            "where_reference": reference, "where_version": 1,
        }])
        # The version has moved on: a second writer's check matches nothing.
        stale = update_case.run(conn, [{"state": "closed", "where_reference": reference,
                                        "where_version": 1}])
        uow.commit()
    assert (matched, stale) == (1, 0)
    assert _stored(ctx, reference) == ("triage", 2, at, ["Alex Morgan"])


def test_a_prebuilt_insert_fills_the_columns_python_defaults_and_writes_many_rows(
    ctx: AppContext,
) -> None:
    create_staff(ctx)
    reference = log_concern(ctx, name="Ada Lovelace")
    insert_clock = PrebuiltWrite(insert(_DEADLINES))
    with ctx.read() as read:
        case_id = read.session.scalars(select(Case.id).where(Case.reference == reference)).one()
    before = datetime.now(UTC)
    rows = [{"case_id": case_id, "clock": clock, "started_on": date(2026, 3, 2),
             "target_days": 5, "due_date": date(2026, 3, 9), "owner_role": "iat_officer",
             "explanation": {"base": "2026-03-02", "days": 5}} for clock in ("x_one", "x_two")]
    with ctx.uow() as uow:
        assert insert_clock.run(uow.session.connection(), rows) == 2
        uow.commit()
    with ctx.read() as read:
        stored = read.session.scalars(
            select(Deadline).where(Deadline.clock.in_(["x_one", "x_two"])).order_by(Deadline.id)
        ).all()
        # Left out, each column took its default as an ORM insert gives it.
        assert [(d.clock, d.status, d.working_days, d.extended_days) for d in stored] == [
            ("x_one", "running", True, 0), ("x_two", "running", True, 0)]
        assert all(d.created_at >= before and d.created_at.tzinfo is not None for d in stored)
        assert stored[0].explanation == {"base": "2026-03-02", "days": 5}


def test_a_prebuilt_write_tells_the_engines_cursor_listeners(ctx: AppContext) -> None:
    create_staff(ctx)
    reference = log_concern(ctx, name="Ada Lovelace")
    seen: list[str] = []

    def heard(_conn: object, _cursor: object, statement: str, *_: object) -> None:
        seen.append(statement.split()[0])

    event.listen(ctx.engine, "before_cursor_execute", heard)
    try:
        act(ctx, reference, "acknowledge", "alex")
    finally:
        event.remove(ctx.engine, "before_cursor_execute", heard)
    # The event's own read, its clocks, its case and its audit row, all seen.
    assert seen[0] == "SELECT" and {"UPDATE", "INSERT"} <= set(seen)


def test_a_prebuilt_write_fails_as_sqlalchemy_does_without_its_parameters(
    ctx: AppContext,
) -> None:
    secret = "Ada Lovelace"
    insert_clock = PrebuiltWrite(insert(_DEADLINES))
    with ctx.uow() as uow, pytest.raises(DBAPIError) as failure:
        # No such case: the foreign key refuses it.
        insert_clock.run(uow.session.connection(), [{
            "case_id": 999_999, "clock": "review", "started_on": date(2026, 3, 2),
            "target_days": 5, "due_date": date(2026, 3, 9), "owner_role": "iat_officer",
            "extended_reason": secret,
        }])
    assert secret not in str(failure.value)


def test_an_attached_object_behaves_as_one_a_query_loaded(ctx: AppContext) -> None:
    create_staff(ctx)
    reference = log_concern(ctx, name="Ada Lovelace")
    columns = [p.key for p in inspect(Case).column_attrs]
    statement = Prebuilt(select(*(getattr(Case, k) for k in columns))
                         .where(Case.reference == bindparam("r")))
    with ctx.uow() as uow:
        s = uow.session
        (row,) = statement.rows(s.connection(), {"r": reference})
        case = attach(s, Case, dict(zip(columns, row, strict=True)))
        # The session's own object for that identity, as a query would return it.
        assert s.get(Case, case.id) is case
        assert attach(s, Case, dict(zip(columns, row, strict=True))) is case
        assert case in s and not s.dirty and not s.new
        # A relationship not read loads when first used.
        assert case.respondent.name == "Ada Lovelace"
        case.state = "triage"
        assert list(s.dirty) == [case]
        s.flush()  # the ORM writes the change, its version check included
        assert case.version == 2
        uow.commit()
    assert _stored(ctx, reference)[:2] == ("triage", 2)
    with ctx.uow() as uow:
        (row,) = statement.rows(uow.session.connection(), {"r": reference})
        case = attach(uow.session, Case, dict(zip(columns, row, strict=True)))
        case.state = "closed"
        uow.session.flush()
        uow.rollback()
        # Rolled back, it reads as stored again.
        assert case.state == "triage"
    assert _stored(ctx, reference)[:2] == ("triage", 2)
