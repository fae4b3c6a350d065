"""The ``bridge`` section: how vendor payloads become contract messages.

Integrators describe each vendor format declaratively (which payload path
holds which contract field, units, time format, value codes) instead of
writing code, so adding a vendor is a config change that ``gridwatch config
check`` validates. ``gridwatch.adapters.mapping`` applies these models.
"""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import Field, field_validator, model_validator

from config.base import Section
from gridwatch.contract import INPUT_MODELS

Stream = Literal["access", "iot", "report"]
TimeFormat = Literal["rfc3339", "epoch_s", "epoch_ms", "local"]
Kind = Literal["auto", "string", "number", "integer"]
_OFFSET = re.compile(r"^[+-]\d{2}:\d{2}$")


class FieldSpec(Section):
    """Where one contract field comes from, and how it is converted.

    Exactly one source: ``path`` (dotted, list indices as numbers; with a
    mapping's ``each``, ``$.`` starts from the whole message), ``topic_level``
    (a segment of the MQTT topic, from 0), ``const`` or ``template`` (text
    with ``{path}`` / ``{topic.N}`` placeholders).
    """

    path: str | None = None
    topic_level: int | None = Field(default=None, ge=0)
    const: Any = None
    template: str | None = None
    default: Any = Field(default=None, description="used when the path is absent")
    map: dict[str, Any] | None = Field(default=None, description="vendor code → value, "
                                       "e.g. {ALARM: 1, NORMAL: 0}; other codes are errors")
    scale: float = Field(default=1.0, description="numbers: value * scale + offset")
    offset: float = 0.0
    time: TimeFormat | None = Field(default=None, description="read as a timestamp")
    time_format: str = Field(default="%Y-%m-%d %H:%M:%S",
                             description="strptime format for time: local")
    type: Kind = "auto"

    @model_validator(mode="after")
    def _one_source(self) -> FieldSpec:
        sources = [self.path is not None, self.topic_level is not None,
                   self.const is not None, self.template is not None]
        if sum(sources) != 1:
            raise ValueError("a field needs exactly one of path, topic_level, const, template")
        return self


class Mapping(Section):
    """One vendor format on one MQTT topic filter → one input stream."""

    name: str = Field(min_length=1, pattern=r"^[A-Za-z0-9_.-]+$")
    topic: str = Field(default="#", min_length=1, description="MQTT topic filter (+ and #)")
    stream: Stream
    timezone: str = Field(default="+08:00", description="for time: local — an offset "
                          "like +08:00 or an IANA zone like Asia/Shanghai")
    match: dict[str, Any] = Field(default_factory=dict, description="path → value the "
                                  "payload must have for this mapping to apply, e.g. "
                                  "{type: smoke}; other payloads are left to other mappings")
    each: str | None = Field(default=None, description="path of a list in the payload: "
                             "one event per element")
    fields: dict[str, FieldSpec] = Field(description="contract field → FieldSpec, "
                                         "or a plain string meaning its path")

    @field_validator("fields", mode="before")
    @classmethod
    def _paths(cls, value: Any) -> Any:
        if isinstance(value, dict):
            return {k: {"path": v} if isinstance(v, str) else v for k, v in value.items()}
        return value

    @model_validator(mode="after")
    def _check(self) -> Mapping:
        if not _OFFSET.match(self.timezone):
            from zoneinfo import ZoneInfo

            try:
                ZoneInfo(self.timezone)
            except Exception:  # noqa: BLE001 - zoneinfo raises several kinds
                raise ValueError(f"timezone: unknown zone {self.timezone!r}") from None
        model = INPUT_MODELS[self.stream]
        unknown = sorted(set(self.fields) - set(model.model_fields))
        if unknown:
            raise ValueError(f"fields: {', '.join(unknown)} not in the {self.stream} "
                             f"contract (fields: {', '.join(model.model_fields)})")
        required = [n for n, f in model.model_fields.items() if f.is_required()]
        missing = [n for n in required if n not in self.fields and n != "event_id"]
        if missing:
            raise ValueError(f"fields: {', '.join(missing)} required by the {self.stream} "
                             "contract (event_id alone may be left out: then it is a hash)")
        return self


class MqttSettings(Section):
    host: str = "127.0.0.1"
    port: int = Field(default=1883, ge=1, le=65535)
    username: str | None = None
    password: str | None = None
    client_id: str = "gridwatch-bridge"
    qos: Literal[0, 1, 2] = 1
    keepalive_s: int = Field(default=30, ge=5)
    tls: bool = False
    ca_file: str | None = None


class BridgeSettings(Section):
    """Everything ``gridwatch bridge mqtt`` needs besides Kafka."""

    mqtt: MqttSettings = Field(default_factory=MqttSettings)
    batch_max: int = Field(default=200, ge=1, description="events per Kafka message")
    linger_ms: int = Field(default=50, ge=0, description="longest wait before a "
                           "partial batch is sent")
    mappings: list[Mapping] = Field(default_factory=list)

    @model_validator(mode="after")
    def _unique_names(self) -> BridgeSettings:
        names = [m.name for m in self.mappings]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ValueError(f"mappings: duplicate names {dupes}")
        return self
