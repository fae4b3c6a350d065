"""The contract (shared/contract.md v1) as pydantic models.

These models are the outside of the system: they validate what integrators
send, describe what the dispatch system receives, and are exported as JSON
Schema by ``gridwatch schema``. Fields may only be added (optional, with
defaults); renaming or tightening one is a new contract version.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Any, Literal

import orjson
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationError, field_validator

from gridwatch.events import Access, Event, Iot, Report
from gridwatch.fastparse import fast_item

CONTRACT_VERSION = "1"

Direction = Literal["in", "out"]
Method = Literal["card", "face", "qr", "plate", "password", "other"]
Source = Literal["grid_worker", "citizen", "police", "system"]
Severity = Literal["blue", "yellow", "orange", "red"]
Status = Literal["firing", "resolved"]
AlertKind = Literal[
    "long_absent", "stay_in", "out_no_return", "unusual_hours", "crowd", "group_rental",
    "event_cluster", "sensor_threshold", "sensor_anomaly", "no_usage", "device_offline",
]
SEVERITIES: tuple[str, ...] = ("blue", "yellow", "orange", "red")


class _In(BaseModel):
    """Input messages ignore unknown fields so producers can add their own."""

    model_config = ConfigDict(extra="ignore", str_strip_whitespace=True)

    event_id: str = Field(min_length=1)
    ts: AwareDatetime

    @field_validator("ts", mode="before")
    @classmethod
    def _leap_second(cls, v: Any) -> Any:
        """RFC 3339 allows a leap second (``23:59:60Z``); POSIX time has none, so it is
        read as the second after ``:59``, as NTP-disciplined clocks step it."""
        if isinstance(v, str) and (m := _LEAP.fullmatch(v)):
            try:
                return datetime.fromisoformat(m[1] + "59" + m[2]) + timedelta(seconds=1)
            except ValueError:
                return v  # let the model say what is wrong with it
        return v


_LEAP = re.compile(r"(\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:)60((?:\.\d+)?(?:[Zz]|[+-]\d{2}:\d{2}))")


class AccessIn(_In):
    """`gw.access`: a pass at a gate (门禁/人脸/车辆卡口)."""

    gate_id: str = Field(min_length=1)
    direction: Direction
    method: Method
    person_id: str | None = None
    plate: str | None = None
    confidence: float | None = Field(default=None, ge=0, le=1)

    def to_event(self) -> Access:
        return Access(self.event_id, self.ts.timestamp(), self.gate_id, self.direction,
                      self.method, self.person_id, self.plate, self.confidence)


class IotIn(_In):
    """`gw.iot`: one sensor reading (物联感知)."""

    device_id: str = Field(min_length=1)
    metric: str = Field(min_length=1)
    value: float = Field(allow_inf_nan=False)
    unit: str | None = None
    battery: float | None = Field(default=None, ge=0, le=1)

    def to_event(self) -> Iot:
        return Iot(self.event_id, self.ts.timestamp(), self.device_id, self.metric,
                   self.value, self.unit, self.battery)


class ReportIn(_In):
    """`gw.reports`: a grid event report (网格事件上报)."""

    grid_id: str = Field(min_length=1)
    category: str = Field(min_length=1)
    source: Source
    lat: float | None = Field(default=None, ge=-90, le=90)
    lon: float | None = Field(default=None, ge=-180, le=180)
    text: str | None = None
    reporter_id: str | None = None

    def to_event(self) -> Report:
        return Report(self.event_id, self.ts.timestamp(), self.grid_id, self.category,
                      self.source, self.lat, self.lon, self.text, self.reporter_id)


INPUT_MODELS: dict[str, type[AccessIn] | type[IotIn] | type[ReportIn]] = {
    "access": AccessIn, "iot": IotIn, "report": ReportIn,
}

# ---------------------------------------------------------------- registry rows


class _Row(BaseModel):
    """Registry CSV rows: unknown columns are ignored, empty cells mean absent."""

    model_config = ConfigDict(extra="ignore", str_strip_whitespace=True)


class GridRow(_Row):
    grid_id: str = Field(min_length=1)
    community_id: str = ""
    street_id: str = ""
    district_id: str = ""
    city_id: str = ""
    worker_id: str = ""
    police_id: str = ""
    name: str = ""


class HouseRow(_Row):
    house_id: str = Field(min_length=1)
    grid_id: str = Field(min_length=1)
    building_id: str = ""
    registered_occupants: int = Field(default=0, ge=0)
    lat: float | None = None
    lon: float | None = None


KNOWN_TAGS = ("elderly_alone", "elderly", "key_person", "minor", "tenant", "dementia",
              "disabled")


class PersonRow(_Row):
    """A person; ``tags`` arrives `;`-separated in CSV. Unknown tags are kept, not fatal."""

    person_id: str = Field(min_length=1)
    house_id: str = ""
    tags: list[str] = Field(default_factory=list)

    @field_validator("tags", mode="before")
    @classmethod
    def _split(cls, value: Any) -> Any:
        if isinstance(value, str):
            return [t.strip() for t in value.split(";") if t.strip()]
        return [] if value is None else value


class GateRow(_Row):
    gate_id: str = Field(min_length=1)
    grid_id: str = Field(min_length=1)
    house_id: str = ""
    lat: float | None = None
    lon: float | None = None


class DeviceRow(_Row):
    device_id: str = Field(min_length=1)
    house_id: str = ""
    grid_id: str = ""


REGISTRY_MODELS: dict[str, type[_Row]] = {
    "grids": GridRow, "houses": HouseRow, "persons": PersonRow, "gates": GateRow,
    "devices": DeviceRow,
}

# ---------------------------------------------------------------- output


class Subject(BaseModel):
    type: Literal["person", "house", "device", "gate", "grid", "building"]
    id: str


class GridRef(BaseModel):
    grid_id: str
    community_id: str = ""
    street_id: str = ""
    district_id: str = ""
    city_id: str = ""


class Assignee(BaseModel):
    worker_id: str = ""
    police_id: str = ""


class DetectorRef(BaseModel):
    name: str
    version: str
    config_hash: str


class Route(BaseModel):
    """One recipient of an alert: a level of the grid hierarchy and its id."""

    to: str
    id: str
    route: str | None = None


class Alert(BaseModel):
    """`gw.alerts`: one update of one episode; dedupe on (alert_id, seq)."""

    alert_id: str
    seq: int = Field(ge=1)
    kind: AlertKind
    status: Status
    severity: Severity
    subject: Subject
    grid: GridRef
    assignee: Assignee
    starts_at: AwareDatetime
    ts: AwareDatetime
    ends_at: AwareDatetime | None = None
    summary: str
    evidence: dict[str, Any]
    detector: DetectorRef
    # Optional extensions (docs/alerts.md): what this update is, and who must see it.
    update: Literal["opened", "escalated", "repeat", "unmuted", "resolved"] | None = None
    routes: list[Route] | None = None


class DeadLetter(BaseModel):
    """`gw.deadletter`: an input that could not be parsed or validated, kept verbatim."""

    stream: str
    raw: str
    error: str
    received_at: AwareDatetime


# ---------------------------------------------------------------- parsing


def describe(exc: ValidationError) -> str:
    """One line naming each failing field, e.g. ``direction: must be 'in' or 'out'``."""
    parts = []
    for err in exc.errors(include_url=False):
        loc = ".".join(str(x) for x in err["loc"]) or "message"
        msg = err["msg"]
        if err["type"] == "literal_error":
            msg = "must be " + msg.removeprefix("Input should be ")
        parts.append(f"{loc}: {msg}")
    return "; ".join(parts)


def parse_item(stream: str, obj: Any) -> Event:
    """Validate one decoded input object; raises ``ValueError`` with a readable reason."""
    event = fast_item(stream, obj)
    if event is not None:
        return event
    if not isinstance(obj, dict):
        raise ValueError(f"message: expected a JSON object, got {type(obj).__name__}")
    try:
        return INPUT_MODELS[stream].model_validate(obj).to_event()
    except ValidationError as exc:
        raise ValueError(describe(exc)) from None


def dead_letter(stream: str, raw: str, error: str, received_at: datetime) -> dict[str, Any]:
    """A dead letter as its JSON-ready dict (the shape the contract fixes)."""
    return {"stream": stream, "raw": raw, "error": error,
            "received_at": received_at.isoformat()}


BOM = "\ufeff"


def loads(raw: bytes | str) -> Any:
    """``orjson.loads``, ignoring a leading UTF-8 byte order mark as RFC 8259 allows.

    Windows tools write one (PowerShell 5's ``Out-File -Encoding utf8``, Notepad); a feed
    file's first line or a message value from them is valid otherwise. The mark is
    looked for only after a failure, so a plain value costs nothing more.
    """
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError:
        bom = BOM.encode() if isinstance(raw, bytes) else BOM
        if not raw.startswith(bom):  # type: ignore[arg-type]
            raise
        return orjson.loads(raw[len(bom):])


def parse_message(stream: str, raw: bytes | str,
                  received_at: datetime) -> tuple[list[Event], list[dict[str, Any]]]:
    """Decode one Kafka message value: an object or a JSON array of objects.

    Each element of a batch is validated on its own, so one bad element costs
    one dead letter and the rest of the batch proceeds.
    """
    text = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else raw
    try:
        data = loads(raw)
    except orjson.JSONDecodeError as exc:
        return [], [dead_letter(stream, text, f"message: invalid JSON ({exc})", received_at)]
    items = data if isinstance(data, list) else [data]
    events: list[Event] = []
    dead: list[dict[str, Any]] = []
    for item in items:
        try:
            events.append(parse_item(stream, item))
        except ValueError as exc:
            item_raw = orjson.dumps(item).decode() if isinstance(data, list) else text
            dead.append(dead_letter(stream, item_raw, str(exc), received_at))
    return events, dead


def json_schemas() -> dict[str, dict[str, Any]]:
    """JSON Schema of every message and registry row, keyed by a file stem."""
    models: dict[str, type[BaseModel]] = {
        "access": AccessIn, "iot": IotIn, "report": ReportIn, "alert": Alert,
        "deadletter": DeadLetter,
    }
    models.update({f"registry.{k}": v for k, v in REGISTRY_MODELS.items()})
    return {name: m.model_json_schema() for name, m in models.items()}
