"""Feed lines → events: the one parser of recorded feeds, in replay or beside it.

A feed line is an input object plus ``"stream"``. :func:`parse_line` turns one
into an event or raises ``ValueError`` saying what is wrong; a bad line becomes
a dead-letter line (:func:`dead_line`). Replay reads a small feed in its own
process (:func:`parse_raw` per line); a big one is parsed in a second process
(``python -m gridwatch.feedlines``, :func:`parse_to`) while the first runs the
detectors, which is where the time goes. Both apply the same functions to the
same lines in the same order, so the events, the dead letters and where they
fall among the events are the same either way. This module imports no
detector, so a child starts quickly.
"""

from __future__ import annotations

import pickle
import sys
from datetime import datetime
from operator import attrgetter
from typing import IO, Any

import orjson

from gridwatch.contract import dead_letter, loads, parse_item
from gridwatch.events import Access, Event, Iot, Report
from gridwatch.fastparse import FAST

STREAM_ALIASES = {"access": "access", "iot": "iot", "report": "report", "reports": "report"}
_FAST_LINE = {alias: FAST[stream] for alias, stream in STREAM_ALIASES.items()}
CHUNK_LINES = 4096  # lines per message from a parsing child: ~0.5 MB pickled

# A parsed line crosses processes as a row: the event class's code and its fields
# in declaration order (as in work messages), or code None and a dead-letter line.
_CLASS: dict[str, type[Access] | type[Iot] | type[Report]] = {
    "a": Access, "i": Iot, "r": Report}
_FIELDS = {cls.stream: (code, attrgetter(*cls.__slots__)) for code, cls in _CLASS.items()}
Row = tuple[str | None, Any]


def parse_line(line: bytes) -> Event:
    """One feed line: an input object plus ``"stream"``; ``ValueError`` says what is wrong.

    The plain, valid line (nearly all of them) goes straight to the fast builder of
    its stream; anything else takes the general path, which explains the rejection.
    """
    try:
        obj = loads(line)
    except orjson.JSONDecodeError as exc:
        raise ValueError(f"line: invalid JSON ({exc})") from None
    if type(obj) is dict:
        stream = obj.get("stream")
        fast = _FAST_LINE.get(stream) if type(stream) is str else None
        if fast is not None:
            event = fast(obj)  # it reads only its own fields: "stream" may stay
            if event is not None:
                return event
    return _parse_object(obj)


def _parse_object(obj: Any) -> Event:
    """The general path of :func:`parse_line`, for a decoded line."""
    if not isinstance(obj, dict):
        raise ValueError("line: expected a JSON object")
    stream = STREAM_ALIASES.get(str(obj.pop("stream", "")))
    if stream is None:
        raise ValueError("stream: must be 'access', 'iot' or 'report'")
    return parse_item(stream, obj)


def dead_line(line: bytes, exc: ValueError, received: datetime) -> bytes:
    """The dead-letter file's line for a bad feed line, kept verbatim with the reason."""
    text = line.decode("utf-8", "replace")
    return orjson.dumps(dead_letter(_stream_of(line), text, str(exc), received)) + b"\n"


def _stream_of(line: bytes) -> str:
    try:
        obj: Any = loads(line)
        return str(obj.get("stream", "unknown")) if isinstance(obj, dict) else "unknown"
    except orjson.JSONDecodeError:
        return "unknown"


def parse_raw(raw: bytes, received: datetime) -> Event | bytes | None:
    """One line as read: its event, its dead-letter line if bad, ``None`` if blank."""
    line = raw.strip()
    if not line:
        return None
    try:
        return parse_line(line)
    except ValueError as exc:
        return dead_line(line, exc, received)


# ---------------------------------------------------------------- a parsing child


def parse_to(path: str, received: datetime, out: IO[bytes]) -> None:
    """A child process's work: parse ``path`` and pickle its rows to ``out`` in chunks.

    Records: ``("chunk", rows, bytes read)`` …, then ``("end",)``, or ``("error",
    text)`` if the file could not be read. The pipe's buffer keeps the child at
    most a chunk or two ahead of the replay that reads it.
    """
    try:
        with open(path, "rb") as fh:
            rows: list[Row] = []
            size = 0
            for raw in fh:
                size += len(raw)
                item = parse_raw(raw, received)
                if item is None:
                    continue
                rows.append(row_of(item))
                if len(rows) >= CHUNK_LINES:
                    pickle.dump(("chunk", rows, size), out, pickle.HIGHEST_PROTOCOL)
                    rows, size = [], 0
            pickle.dump(("chunk", rows, size), out, pickle.HIGHEST_PROTOCOL)
        pickle.dump(("end",), out)
    except OSError as exc:  # the parent raises it
        pickle.dump(("error", f"{path}: {exc}"), out)
    out.flush()


def row_of(item: Event | bytes) -> Row:
    """An event (or a dead-letter line) as a row, to cross to another process."""
    if type(item) is bytes:
        return None, item
    code, fields = _FIELDS[item.stream]  # type: ignore[union-attr]
    return code, fields(item)


def event_of(row: Row) -> Event | bytes:
    """A row back as its event (or the dead-letter line it carries)."""
    code, payload = row
    if code is None:
        return payload  # type: ignore[no-any-return]
    return _CLASS[code](*payload)


def main(argv: list[str]) -> int:
    """``python -m gridwatch.feedlines FEED RECEIVED_AT``: rows of FEED on stdout."""
    path, received = argv
    try:
        parse_to(path, datetime.fromisoformat(received), sys.stdout.buffer)
    except BrokenPipeError:  # the replay stopped reading (an error there, or done early)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
