"""Errors a use case can end in, each with the exit status the CLI gives it (DESIGN §6).

Messages name the field and the problem, never personal data.
"""

from __future__ import annotations


class ServiceError(Exception):
    exit_code = 1
    http_status = 400

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class BadInput(ServiceError):
    """Input that is malformed: names the field (a dotted path or a --set key) and the problem."""

    exit_code = 2
    http_status = 422

    def __init__(self, field: str, problem: str) -> None:
        super().__init__(f"{field}: {problem}")
        self.field = field
        self.problem = problem


class NotAllowed(ServiceError):
    """Refused: role, guard, state or separation of duties."""

    exit_code = 3
    http_status = 403


class NotFound(ServiceError):
    exit_code = 1
    http_status = 404


class ConcurrentChange(ServiceError):
    """Someone else changed the case between reading and writing it."""

    exit_code = 1
    http_status = 409

    def __init__(self, reference: str) -> None:
        super().__init__(f"case {reference}: the case changed while you were working on it, reload")
