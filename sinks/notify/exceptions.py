"""Errors of the notify stage, rooted in one base so callers can catch the family."""

from __future__ import annotations


class NotifyError(Exception):
    """Base of every notify-stage error."""


class DeliveryError(NotifyError):
    """A delivery failed. ``recoverable`` failures are retried (a 503, a timeout, a full
    disk); the others go straight to the dead letter (a 400: sending again won't help).
    ``retry_after`` is the receiver's own hint (HTTP ``Retry-After``), in seconds."""

    def __init__(self, message: str, recoverable: bool, retry_after: float | None = None):
        super().__init__(message)
        self.recoverable = recoverable
        self.retry_after = retry_after
