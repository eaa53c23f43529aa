"""One exception hierarchy; every message is meant for a person to read."""

from __future__ import annotations


class SpendSenseError(Exception):
    """Base of every error SpendSense raises on purpose. ``status`` is the HTTP status."""

    status: int = 500
    code: str = "internal_error"

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


class UserError(SpendSenseError):
    """Bad input or a bad request from the person running the tool."""

    status = 422
    code = "invalid_input"


class InputUnreadable(UserError):
    """An input file that cannot be read or parsed at all."""

    code = "unreadable_input"


class ConfigError(UserError):
    """A configuration file or value that is not valid."""

    code = "invalid_config"


class NotFound(SpendSenseError):
    """An id that does not exist, or (to a customer) one that is not theirs: the same answer."""

    status = 404
    code = "not_found"


def unknown(kind: str, ident: str, *, field: str) -> NotFound:
    """The one answer for "no such {kind}": a missing id and another customer's id read alike,
    so an id's answer never tells whether it exists (docs/security.md, "Not yours = not there")."""
    return NotFound(f"unknown {kind} {ident!r}", field=field)


class ConsentRequired(SpendSenseError):
    """The user has not granted consent, so nothing may be computed or shown."""

    status = 403
    code = "consent_required"


class Unauthorized(SpendSenseError):
    status = 401
    code = "unauthorized"


class Forbidden(SpendSenseError):
    status = 403
    code = "forbidden"


class Conflict(SpendSenseError):
    """The thing changed under the caller (another operator acted first)."""

    status = 409
    code = "conflict"


class OwnershipConflict(SpendSenseError):
    """An input names a record that belongs to another user: refused, never moved."""

    status = 409
    code = "ownership_conflict"


class StoreBusy(SpendSenseError):
    """Another process held the data folder's writer lock for longer than the busy timeout."""

    status = 503
    code = "store_busy"
