"""The retry stage: exponential backoff for recoverable failures, then give up.

Only a failure the notifier calls recoverable is retried (Alertmanager's
rule); the receiver's ``Retry-After`` is honoured within ``max_backoff_s``.
Giving up is not losing: the caller dead-letters the batch. Time and sleep
are injected so the schedule is tested without waiting.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from config.alerts import Retry
from sinks.notify.base import Notifier
from sinks.notify.exceptions import DeliveryError


@dataclass
class Outcome:
    """How a delivery ended: ``ok``, or the last error after ``attempts`` tries."""

    ok: bool
    attempts: int
    error: str = ""
    first_at: float = 0.0
    last_at: float = 0.0
    stopped: bool = False  # the stage is shutting down: neither delivered nor given up


def backoff(retry: Retry, attempt: int, hint: float | None = None) -> float:
    """Seconds to wait after failed attempt number ``attempt`` (1-based).

    >>> [backoff(Retry(initial_backoff_s=1, multiplier=2, max_backoff_s=5), n)
    ...  for n in (1, 2, 3, 4)]
    [1.0, 2.0, 4.0, 5.0]
    """
    delay = retry.initial_backoff_s * retry.multiplier ** (attempt - 1)
    if hint is not None:
        delay = max(delay, hint)
    return float(min(delay, retry.max_backoff_s))


def deliver(notifier: Notifier, alerts: list[dict[str, Any]], retry: Retry,
            wait: Callable[[float], bool] | None = None,
            clock: Callable[[], float] = time.time) -> Outcome:
    """Try until delivered, a failure is not recoverable, or the retry budget is spent.

    ``wait(seconds)`` sleeps and returns True if the stage is stopping.
    """
    wait = wait or _sleep
    first = clock()
    attempt = 0
    while True:
        attempt += 1
        try:
            notifier.notify(alerts)
            return Outcome(True, attempt, first_at=first, last_at=clock())
        except DeliveryError as exc:
            now = clock()
            delay = backoff(retry, attempt, exc.retry_after)
            spent = attempt >= retry.max_attempts or now + delay - first > retry.give_up_after_s
            if not exc.recoverable or spent:
                why = "not recoverable" if not exc.recoverable else "retries exhausted"
                return Outcome(False, attempt, f"{exc} ({why})", first, now)
            if wait(delay):
                return Outcome(False, attempt, str(exc), first, now, stopped=True)


def _sleep(seconds: float) -> bool:
    time.sleep(seconds)
    return False
