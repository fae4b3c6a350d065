"""Apply a declarative vendor mapping (``config.bridge.Mapping``) to a payload.

The mapping only reshapes: it reads fields, converts units, times and codes,
and hands the result to the contract's ``parse_item``, which stays the only
judge of validity. Every failure becomes an :class:`Outcome` with a reason
that names the mapping and the field, so an integrator reading the dead
letter knows which line of their mapping or which payload key to fix.
"""

from __future__ import annotations

import hashlib
import math
import re
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone, tzinfo
from functools import lru_cache
from typing import Any

import orjson

from config.bridge import FieldSpec, Mapping
from gridwatch.contract import INPUT_MODELS, loads, parse_item

MISSING: Any = object()
_PLACEHOLDER = re.compile(r"\{([^{}]+)\}")
NUMERIC_FIELDS = frozenset(("value", "battery", "confidence", "lat", "lon"))
# Epochs past this many seconds are surely milliseconds (year 5138), and
# milliseconds below it surely seconds: catches the commonest vendor mix-up.
_EPOCH_S_MAX = 1e11


class MappingError(ValueError):
    """A payload does not fit its mapping; the message names the field."""


@dataclass(frozen=True)
class Outcome:
    """One mapped item: ``message`` when valid, else ``error`` (never both)."""

    stream: str
    raw: str
    message: dict[str, Any] | None = None
    error: str | None = None


@lru_cache(maxsize=64)
def zone(name: str) -> tzinfo:
    """``+08:00`` → a fixed offset; anything else is an IANA zone name."""
    if re.fullmatch(r"[+-]\d{2}:\d{2}", name):
        sign = -1 if name[0] == "-" else 1
        return timezone(sign * timedelta(hours=int(name[1:3]), minutes=int(name[4:6])))
    from zoneinfo import ZoneInfo

    return ZoneInfo(name)


def resolve(data: Any, path: str) -> Any:
    """Follow a dotted path (``a.b.0.c``) through dicts and lists; ``MISSING`` if absent."""
    for part in path.split("."):
        if isinstance(data, dict) and part in data:
            data = data[part]
        elif isinstance(data, list) and part.lstrip("-").isdigit() and \
                -len(data) <= int(part) < len(data):
            data = data[int(part)]
        else:
            return MISSING
    return data


def _lookup(item: Any, root: Any, topic: str, ref: str) -> Any:
    """A template reference: ``topic.N``, ``$.path`` (whole message) or an item path."""
    if ref.startswith("topic.") and ref[6:].isdigit():
        levels = topic.split("/")
        n = int(ref[6:])
        return levels[n] if n < len(levels) else MISSING
    if ref.startswith("$."):
        return resolve(root, ref[2:])
    return resolve(item, ref)


def _source(spec: FieldSpec, item: Any, root: Any, topic: str) -> Any:
    """The raw value a field spec points at, before any conversion."""
    if spec.const is not None:
        return spec.const
    if spec.topic_level is not None:
        return _lookup(item, root, topic, f"topic.{spec.topic_level}")
    if spec.template is not None:
        def sub(m: re.Match[str]) -> str:
            value = _lookup(item, root, topic, m.group(1))
            if value is MISSING:
                raise MappingError(f"template {{{m.group(1)}}} not found in payload")
            return _text(value)
        return _PLACEHOLDER.sub(sub, spec.template)
    assert spec.path is not None
    return _lookup(item, root, topic, spec.path)


def _text(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return value if isinstance(value, str) else orjson.dumps(value).decode().strip('"')


def _code(value: Any, table: dict[str, Any]) -> Any:
    """Translate a vendor code through a value map; unknown codes are errors."""
    key = ("true" if value else "false") if isinstance(value, bool) else _text(value)
    if key in table:
        return table[key]
    known = ", ".join(sorted(table))
    raise MappingError(f"code {key!r} not in the value map ({known})")


def _number(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise MappingError(f"expected a number, got {_text(value)!r}")
    try:
        number = float(value)
    except ValueError:
        raise MappingError(f"expected a number, got {value!r}") from None
    if not math.isfinite(number):
        raise MappingError(f"expected a finite number, got {value!r}")
    return number


def timestamp(value: Any, fmt: str, tz_name: str, time_format: str) -> str:
    """A vendor time → RFC 3339 with the mapping's offset (the contract's ``ts``)."""
    tz = zone(tz_name)
    if fmt == "rfc3339":
        return _text(value)
    if fmt == "local":
        if not isinstance(value, str):
            raise MappingError(f"expected local time text, got {_text(value)!r}")
        try:
            naive = datetime.strptime(value.strip(), time_format)
        except ValueError:
            raise MappingError(f"{value!r} does not match {time_format!r}") from None
        return naive.replace(tzinfo=tz).isoformat()
    seconds = _number(value)
    if fmt == "epoch_ms":
        if abs(seconds) < _EPOCH_S_MAX:
            raise MappingError(f"epoch_ms {value!r} is before 1973: seconds, not ms?")
        seconds /= 1000.0
    elif abs(seconds) >= _EPOCH_S_MAX:
        raise MappingError(f"epoch_s {value!r} is after year 5000: ms, not seconds?")
    try:
        return datetime.fromtimestamp(seconds, tz).isoformat()
    except (OverflowError, OSError, ValueError):
        raise MappingError(f"epoch {value!r} is out of range") from None


def convert(name: str, spec: FieldSpec, value: Any, tz_name: str) -> Any:
    """Value map, then time or number conversion (with scale/offset), then type."""
    if spec.map is not None:
        value = _code(value, spec.map)
    if spec.time is not None:
        return timestamp(value, spec.time, tz_name, spec.time_format)
    kind = spec.type
    if kind == "auto":
        scaled = spec.scale != 1.0 or spec.offset != 0.0
        if scaled or (name in NUMERIC_FIELDS and isinstance(value, str)):
            kind = "number"
        elif name not in NUMERIC_FIELDS and isinstance(value, int) and \
                not isinstance(value, bool):
            kind = "string"  # numeric device ids: the contract wants text
    if kind == "number":
        return _number(value) * spec.scale + spec.offset
    if kind == "integer":
        return int(_number(value) * spec.scale + spec.offset)
    if kind == "string":
        return _text(value)
    return value


def _required(stream: str) -> frozenset[str]:
    model = INPUT_MODELS[stream]
    return frozenset(n for n, f in model.model_fields.items() if f.is_required())


def build(mapping: Mapping, item: Any, root: Any, topic: str) -> dict[str, Any]:
    """The contract message for one payload item; raises :class:`MappingError`."""
    required = _required(mapping.stream)
    out: dict[str, Any] = {}
    for name, spec in mapping.fields.items():
        try:
            value = _source(spec, item, root, topic)
            if value is MISSING or value is None:
                if spec.default is None:
                    if name in required:
                        raise MappingError(f"{_where(spec)} not found in payload (or null)")
                    continue
                value = spec.default
            out[name] = convert(name, spec, value, mapping.timezone)
        except MappingError as exc:
            raise MappingError(f"{name}: {exc}") from None
    if "event_id" not in out:
        out["event_id"] = default_event_id(mapping, item, topic)
    return out


def _where(spec: FieldSpec) -> str:
    if spec.path is not None:
        return f"path {spec.path!r}"
    return f"topic level {spec.topic_level}"


def default_event_id(mapping: Mapping, item: Any, topic: str) -> str:
    """Same payload, same id: MQTT redeliveries are then deduplicated downstream."""
    digest = hashlib.sha1(topic.encode() + b"\0" + orjson.dumps(item, option=orjson.OPT_SORT_KEYS))
    return f"{mapping.name}-{digest.hexdigest()[:16]}"


def decode(payload: bytes | str) -> tuple[str, Any, str | None]:
    """(text, parsed JSON, error): parsed once, even when several mappings apply."""
    text = payload.decode("utf-8", "replace") if isinstance(payload, bytes) else payload
    try:
        return text, loads(payload), None
    except orjson.JSONDecodeError as exc:
        return text, None, f"message: invalid JSON ({exc})"


def matches(mapping: Mapping, root: Any) -> bool:
    """Whether the payload has every value the mapping's ``match`` asks for."""
    for path, want in mapping.match.items():
        got = resolve(root, path)
        if got is MISSING or _text(got) != _text(want):
            return False
    return True


def apply(mapping: Mapping, payload: bytes | str, topic: str = "") -> list[Outcome]:
    """Map one raw payload to outcomes (one per item), each validated by the contract."""
    text, root, error = decode(payload)
    if error is not None:
        return [Outcome(mapping.stream, text, error=f"mapping {mapping.name}: {error}")]
    return apply_parsed(mapping, root, text, topic)


def apply_parsed(mapping: Mapping, root: Any, text: str, topic: str) -> list[Outcome]:
    """:func:`apply` for an already decoded payload (``text`` is kept for dead letters)."""
    prefix = f"mapping {mapping.name}: "
    items: Any = [root]
    if mapping.each is not None:
        items = resolve(root, mapping.each)
        if not isinstance(items, list):
            return [Outcome(mapping.stream, text,
                            error=f"{prefix}each: path {mapping.each!r} is not a list")]
    results = []
    for item in items:
        raw = text if mapping.each is None else orjson.dumps(item).decode()
        results.append(_one(mapping, item, root, topic, raw, prefix))
    return results


def _one(mapping: Mapping, item: Any, root: Any, topic: str, raw: str,
         prefix: str) -> Outcome:
    try:
        message = build(mapping, item, root, topic)
        parse_item(mapping.stream, message)
        orjson.dumps(message)  # a batch that cannot be encoded would lose its neighbours
    except (ValueError, TypeError) as exc:  # MappingError, the contract, or encoding
        return Outcome(mapping.stream, raw, error=prefix + str(exc))
    return Outcome(mapping.stream, raw, message=message)
