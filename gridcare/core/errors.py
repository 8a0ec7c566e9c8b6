"""Errors that services raise and every edge (API, views, CLI) turns into a message a person can act on."""

from __future__ import annotations


class ServiceError(Exception):
    """A request that cannot be carried out as asked. `field` names the input at fault, when there is one."""

    status = 400

    def __init__(self, message: str, *, field: str | None = None, errors: dict[str, list[str]] | None = None):
        super().__init__(message)
        self.message = message
        self.field = field
        self.errors = errors or ({field: [message]} if field else {})


class NotFound(ServiceError):
    status = 404


class Conflict(ServiceError):
    status = 409


class Forbidden(ServiceError):
    status = 403
