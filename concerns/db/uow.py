"""Unit of work: one transaction per use case, rolled back unless `commit()` is called."""

from __future__ import annotations

from types import TracebackType

from sqlalchemy.orm import Session, sessionmaker


class UnitOfWork:
    """`with uow:` opens a session; leaving without `uow.commit()` rolls everything back."""

    session: Session

    def __init__(self, factory: sessionmaker[Session]) -> None:
        self._factory = factory

    def __enter__(self) -> UnitOfWork:
        self.session = self._factory()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        try:
            self.session.rollback()
        finally:
            self.session.close()

    def commit(self) -> None:
        self.session.commit()

    def rollback(self) -> None:
        self.session.rollback()

    @property
    def dialect(self) -> str:
        bind = self.session.get_bind()
        return bind.dialect.name


class ReadOnlyWork(UnitOfWork):
    """A unit of work that only reads (from a `read_only` engine): one consistent snapshot, no
    write lock, always rolled back. Slow preparation (rendering a letter) happens in one of these
    so that the write transaction that follows stays short."""

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        # Closing ends the transaction (nothing to undo) and detaches what was read as it was
        # read; a rollback would first expire every object loaded, which costs a queue more
        # than its reads.
        self.session.close()

    def commit(self) -> None:
        raise RuntimeError("a read-only unit of work cannot commit")


def transaction_of(session: Session) -> tuple[object | None, object | None]:
    """What identifies SESSION's current transaction (and savepoint, if any): something read in
    it and kept on `session.info` holds only while this is the same (`is`, item by item)."""
    return session.get_transaction(), session.get_nested_transaction()


def same_transaction(kept: tuple[object | None, object | None], session: Session) -> bool:
    return kept[0] is session.get_transaction() and kept[1] is session.get_nested_transaction()
