"""Silences: an operator mutes alerts matching some labels for a period, with a reason.

A hospital stay (``subject_id=p-00042``), a building under repair
(``building=b-12``), a kind under review (``kind=crowd, street_id=s-1``).
Like Alertmanager's ``silence/``, a silence is data, not code: a record with
matchers, ``starts_at``/``ends_at``, ``reason`` and ``author`` (a
pseudonymous operator id, never a name). Expiry is automatic — ``ends_at`` is
compared with the alert's event time — and expiring early is an update that
moves ``ends_at``. Every change appends to the record's own ``history``, so
the latest record per id (all a compacted topic keeps) is the whole audit
trail. :class:`Silencer` is the muter the engine asks.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any, Literal

import orjson
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationError, field_validator

from config.alerts import LABELS, SilenceSettings, check_label_names
from sinks.inhibit import Candidate
from sinks.labels import matchers_match

Matchers = dict[str, str | list[str]]


class SilenceError(ValueError):
    """A silence that cannot be created or changed; the message says why."""


class Change(BaseModel):
    """One entry of a silence's audit trail."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    action: Literal["created", "expired", "extended"]
    at: AwareDatetime
    author: str
    reason: str = ""
    ends_at: AwareDatetime | None = None


class Silence(BaseModel):
    """The record on ``gw.silences`` (key = ``silence_id``) and in a silences file."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    silence_id: str = Field(min_length=1)
    matchers: Matchers = Field(min_length=1)
    starts_at: AwareDatetime
    ends_at: AwareDatetime
    reason: str
    author: str = Field(min_length=1)
    created_at: AwareDatetime
    updated_at: AwareDatetime
    history: list[Change] = Field(default_factory=list)

    @field_validator("matchers")
    @classmethod
    def _known(cls, v: Matchers) -> Matchers:
        check_label_names(tuple(v), "matchers")
        return v

    def state(self, t: float) -> Literal["pending", "active", "expired"]:
        """Where the silence stands at event time ``t``."""
        if t < self.starts_at.timestamp():
            return "pending"
        return "active" if t < self.ends_at.timestamp() else "expired"

    def record(self) -> tuple[bytes, bytes]:
        """(key, value) on the compacted silences topic."""
        return self.silence_id.encode(), orjson.dumps(self.model_dump(mode="json"))


def pseudonym(name: str | None = None) -> str:
    """A stable operator id that does not spell out who they are: ``op-`` + digest."""
    name = name or os.environ.get("USER") or os.environ.get("USERNAME") or "unknown"
    return "op-" + hashlib.sha256(name.encode()).hexdigest()[:8]


def parse_matchers(items: Iterable[str]) -> Matchers:
    """``["kind=no_usage", "house=h-1,h-2"]`` → matchers; a comma means one of several."""
    out: Matchers = {}
    for item in items:
        name, sep, value = item.partition("=")
        name, value = name.strip(), value.strip()
        if not sep or not name or not value:
            raise SilenceError(f"matcher {item!r}: expected LABEL=VALUE, labels: "
                               + ", ".join(LABELS))
        values = [v.strip() for v in value.split(",") if v.strip()]
        out[name] = values[0] if len(values) == 1 else values
    try:
        check_label_names(tuple(out), "matcher")
    except ValueError as exc:
        raise SilenceError(str(exc)) from None
    return out


def new_silence(matchers: Matchers, starts_at: datetime, ends_at: datetime, reason: str,
                author: str, now: datetime, limits: SilenceSettings) -> Silence:
    """Create a silence, refusing what an operator almost certainly did not mean."""
    if not matchers:
        raise SilenceError("a silence needs at least one matcher (LABEL=VALUE)")
    if ends_at <= starts_at:
        raise SilenceError(f"ends_at ({ends_at.isoformat()}) must be after starts_at "
                           f"({starts_at.isoformat()})")
    if (ends_at - starts_at).total_seconds() > limits.max_duration_s:
        raise SilenceError(f"a silence may last at most {limits.max_duration_s / 86400:g} days "
                           "(alerts.silences.max_duration_s)")
    if limits.require_reason and not reason.strip():
        raise SilenceError("a silence needs a reason (alerts.silences.require_reason)")
    digest = hashlib.sha256(orjson.dumps([matchers, starts_at.isoformat(), author,
                                          now.isoformat()], option=orjson.OPT_SORT_KEYS))
    change = Change(action="created", at=now, author=author, reason=reason, ends_at=ends_at)
    try:
        return Silence(silence_id="si-" + digest.hexdigest()[:12], matchers=matchers,
                       starts_at=starts_at, ends_at=ends_at, reason=reason, author=author,
                       created_at=now, updated_at=now, history=[change])
    except ValidationError as exc:
        raise SilenceError(str(exc)) from None


def expire(s: Silence, author: str, now: datetime, reason: str = "") -> Silence:
    """End a silence now (an update, never a deletion: the record stays auditable)."""
    if s.ends_at <= now:
        raise SilenceError(f"{s.silence_id} already ended at {s.ends_at.isoformat()}")
    ends = max(now, s.starts_at)
    change = Change(action="expired", at=now, author=author, reason=reason, ends_at=ends)
    return s.model_copy(update={"ends_at": ends, "updated_at": now,
                                "history": [*s.history, change]})


class SilenceBook:
    """The latest version of every silence, as read from the topic or a file.

    ``version`` grows with every change, so engines sharing one book notice
    that a silence moved (an early expiry) and recheck what it muted.
    """

    def __init__(self, silences: Iterable[Silence] = ()) -> None:
        self.silences: dict[str, Silence] = {}
        self.version = 0
        for s in silences:
            self.put(s)

    def put(self, s: Silence) -> None:
        self.silences[s.silence_id] = s
        self.version += 1

    def apply(self, key: bytes | None, raw: bytes | None) -> None:
        """One topic message; a tombstone (null value) deletes. Raises ``ValueError``."""
        if raw is None:
            if key:
                self.silences.pop(key.decode("utf-8", "replace"), None)
                self.version += 1
            return
        self.put(Silence.model_validate_json(raw))

    def get(self, silence_id: str) -> Silence | None:
        return self.silences.get(silence_id)

    def __iter__(self) -> Any:
        return iter(sorted(self.silences.values(), key=lambda s: (s.created_at, s.silence_id)))

    def __len__(self) -> int:
        return len(self.silences)


def load_silences(path: str | os.PathLike[str]) -> SilenceBook:
    """A silences file: JSONL of silence records; a later line of the same id wins."""
    book = SilenceBook()
    with open(path, "rb") as fh:
        for n, line in enumerate(fh, 1):
            if line.strip():
                try:
                    book.put(Silence.model_validate_json(line))
                except ValidationError as exc:
                    raise SilenceError(f"{path}:{n}: not a silence record: {exc}") from None
    return book


class Silencer:
    """The muter over a :class:`SilenceBook`: active silences whose matchers all match.

    >>> from datetime import timedelta, timezone
    >>> tz = timezone(timedelta(hours=8))
    >>> t0 = datetime(2026, 11, 22, 8, tzinfo=tz)
    >>> s = new_silence({"subject_id": "p-1"}, t0, t0 + timedelta(days=3), "住院",
    ...                 "op-1", t0, SilenceSettings())
    >>> mute = Silencer(SilenceBook([s]))
    >>> c = Candidate({}, {"subject_id": "p-1"}, t0.timestamp() + 3600)
    >>> mute.mutes(c), mute.mutes(Candidate({}, {"subject_id": "p-1"}, t0.timestamp() + 4 * 86400))
    (True, False)
    """

    def __init__(self, book: SilenceBook) -> None:
        self.book = book

    def why(self, c: Candidate) -> list[dict[str, Any]]:
        return [{"silence_id": s.silence_id, "reason": s.reason, "author": s.author,
                 "ends_at": s.ends_at.isoformat()}
                for s in self.book.silences.values()
                if s.state(c.t) == "active" and matchers_match(s.matchers, c.labels)]

    def mutes(self, c: Candidate) -> bool:
        return bool(self.why(c))

    def ends(self, silence_ids: Iterable[str], default: float) -> float:
        """When the named silences are all over: the latest ``ends_at`` still on the book."""
        ends = [s.ends_at.timestamp() for i in silence_ids
                if (s := self.book.get(i)) is not None]
        return max(ends, default=default)


def silences_from(records: Iterable[Mapping[str, Any]]) -> list[Silence]:
    """Validate decoded silence records (tests and tools build them as dicts)."""
    return [Silence.model_validate(r) for r in records]
