"""A prebuilt statement (db.prebuilt) gives the rows SQLAlchemy gives for the same statement:
the same values of the same types, aware UTC times, JSON lists and booleans included, on SQLite
and on PostgreSQL, in the caller's transaction; an error is SQLAlchemy's, without parameters."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import bindparam, select, text
from sqlalchemy.exc import DBAPIError

from concerns.db.models import Case, Respondent
from concerns.db.prebuilt import Prebuilt
from concerns.workflows.cases import one_of
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
