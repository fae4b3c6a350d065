"""Top-level settings: deployment (Kafka, pipeline) and every detector threshold.

Thresholds live once, as the defaults of these models; ``config/default.yaml``
is their readable rendering (``gridwatch config dump``), checked by a test to
match. A YAML file overrides any part; ``GRIDWATCH_`` environment variables
(nested with ``__``, e.g. ``GRIDWATCH_KAFKA__BOOTSTRAP_SERVERS``) override the
file, which is how deployments set brokers and topics.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from config.alerts import AlertSettings
from config.base import Section
from config.bridge import BridgeSettings
from config.days import CalendarConfig
from config.iot import DeviceOfflineConfig, SensorAnomalyConfig
from config.observability import ObservabilitySettings
from config.patterns import (
    CrowdConfig,
    EventClusterConfig,
    GroupRentalConfig,
    UnusualHoursConfig,
)
from config.presence import PresenceConfig
from config.sensor import SensorThresholdConfig

DEFAULT_YAML = Path(__file__).with_name("default.yaml")


class Topics(Section):
    access: str = "gw.access"
    iot: str = "gw.iot"
    reports: str = "gw.reports"
    registry: str = "gw.registry"
    alerts: str = "gw.alerts"
    deadletter: str = "gw.deadletter"
    work: str = Field(default="gw.work", description="internal: events repartitioned by grid")
    silences: str = Field(default="gw.silences", description="compacted: silences by id, "
                          "each record with its full change history")
    alerts_muted: str = Field(default="gw.alerts.muted", description="alert updates muted "
                              "by a silence or an inhibition rule, with the reason")
    alerts_undelivered: str = Field(default="gw.alerts.undelivered", description="notify "
                                    "dead letters: deliveries that kept failing")

    def for_stream(self, stream: str) -> str:
        return {"access": self.access, "iot": self.iot, "report": self.reports}[stream]


class KafkaSettings(Section):
    """Where the brokers are; unset ``bootstrap_servers`` means the embedded broker."""

    bootstrap_servers: str | None = None
    partitions: int = Field(default=4, ge=1, description="partitions of input and work topics")
    replication_factor: int = Field(default=1, ge=1)
    group_id: str = "gridwatch"
    fetch_max_wait_ms: int = Field(default=100, ge=1, le=5000, description="longest a fetch "
                                   "waits for data: a broker that answers only at this deadline "
                                   "(the embedded one) adds it to every hop's latency")
    topics: Topics = Field(default_factory=Topics)
    security_protocol: Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"] = "PLAINTEXT"
    sasl_mechanism: Literal["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"] | None = None
    sasl_username: str | None = None
    sasl_password: SecretStr | None = Field(default=None, description="set it in the "
                                            "environment (GRIDWATCH_KAFKA__SASL_PASSWORD); "
                                            "shown as ********** in logs and dumps")
    ssl_cafile: str | None = Field(default=None, description="CA bundle that verifies the "
                                   "brokers (default: the system's)")
    ssl_certfile: str | None = Field(default=None, description="client certificate (mTLS)")
    ssl_keyfile: str | None = Field(default=None, description="its private key (mTLS)")

    @model_validator(mode="after")
    def _security_is_complete(self) -> KafkaSettings:
        """Half a security setup must fail at start, not as a broker disconnect later."""
        sasl = self.security_protocol.startswith("SASL")
        tls = self.security_protocol in ("SSL", "SASL_SSL")
        if sasl and not (self.sasl_username and self.sasl_password):
            raise ValueError(f"security_protocol {self.security_protocol} needs "
                             "sasl_username and sasl_password")
        if not sasl and (self.sasl_mechanism or self.sasl_username or self.sasl_password):
            raise ValueError("sasl_* settings need security_protocol SASL_PLAINTEXT or "
                             "SASL_SSL")
        if not tls and (self.ssl_cafile or self.ssl_certfile or self.ssl_keyfile):
            raise ValueError("ssl_* files need security_protocol SSL or SASL_SSL")
        if self.ssl_keyfile and not self.ssl_certfile:
            raise ValueError("ssl_keyfile needs ssl_certfile (the client certificate)")
        return self


class PipelineSettings(Section):
    """Event-time handling shared by the live worker and replay."""

    allowed_lateness_s: float = Field(default=300.0, ge=0,
                                      description="how far out of order events may arrive")
    idle_advance_s: float = Field(default=2.0, gt=0, description="wall seconds of silence "
                                  "after which a partition's watermark follows the wall clock")
    caught_up_idle_s: float = Field(default=0.1, ge=0, description="wall seconds after its "
                                    "last message an input partition read to its end (the "
                                    "consumer's position at the broker's high watermark) stops "
                                    "holding event time back; capped by idle_advance_s")
    timezone: str = Field(default="+08:00", pattern=r"^[+-]\d{2}:\d{2}$")
    language: Literal["zh-CN", "en"] = "zh-CN"
    dedup_capacity: int = Field(default=200_000, ge=0,
                                description="recent event ids remembered per partition")
    stats_every_s: float = Field(default=60.0, gt=0, description="how often a worker logs "
                                 "its counts (events routed and processed, alerts)")


class DetectorSettings(Section):
    """One section per detector family, and the calendar of day types they share."""

    calendar: CalendarConfig = Field(default_factory=CalendarConfig)
    sensor_threshold: SensorThresholdConfig = Field(default_factory=SensorThresholdConfig)
    sensor_anomaly: SensorAnomalyConfig = Field(default_factory=SensorAnomalyConfig)
    device_offline: DeviceOfflineConfig = Field(default_factory=DeviceOfflineConfig)
    unusual_hours: UnusualHoursConfig = Field(default_factory=UnusualHoursConfig)
    crowd: CrowdConfig = Field(default_factory=CrowdConfig)
    group_rental: GroupRentalConfig = Field(default_factory=GroupRentalConfig)
    event_cluster: EventClusterConfig = Field(default_factory=EventClusterConfig)
    presence: PresenceConfig = Field(default_factory=PresenceConfig)


class Settings(BaseSettings):
    """Everything a worker or a replay needs to know."""

    model_config = SettingsConfigDict(env_prefix="GRIDWATCH_", env_nested_delimiter="__",
                                      extra="forbid", frozen=True)

    kafka: KafkaSettings = Field(default_factory=KafkaSettings)
    pipeline: PipelineSettings = Field(default_factory=PipelineSettings)
    detectors: DetectorSettings = Field(default_factory=DetectorSettings)
    alerts: AlertSettings = Field(default_factory=AlertSettings)
    observability: ObservabilitySettings = Field(default_factory=ObservabilitySettings)
    bridge: BridgeSettings | None = Field(default=None, description="gridwatch bridge mqtt: "
                                          "MQTT broker and vendor payload mappings")

    @classmethod
    def settings_customise_sources(
        cls, settings_cls: type[BaseSettings], init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource, dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # Environment beats the YAML file: deployments set brokers without editing it.
        return (env_settings, init_settings)


def read_yaml(path: str | Path) -> dict[str, Any]:
    """Read a config file; an empty file is an empty override."""
    with open(path, encoding="utf-8") as fh:
        data = yaml.safe_load(fh) or {}
    if not isinstance(data, dict):
        raise ValueError(f"{path}: top level must be a mapping, got {type(data).__name__}")
    return data


def load_settings(path: str | Path | None = None) -> Settings:
    """Defaults, overridden by ``path`` (if given), overridden by the environment."""
    data = read_yaml(path) if path else {}
    return Settings(**data)


def dump_yaml(settings: Settings) -> str:
    """Render settings as the readable YAML shipped as ``config/default.yaml``."""
    header = ("# gridwatch default configuration, rendered from the config models by\n"
              "# `gridwatch config dump`. Copy what you want to change into your own\n"
              "# file and pass it with --config; unset keys keep these defaults.\n")
    body = yaml.safe_dump(settings.model_dump(mode="json"), sort_keys=False,
                          allow_unicode=True)
    return header + body
