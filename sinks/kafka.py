"""Kafka records for what the pipeline emits: alerts, dead letters, registry records.

The worker sends these through Faust; the registry publisher and the tests
through kafka-python. Both use the same key/value functions here, so every
producer agrees on the format: alerts are keyed by ``grid_id`` (the contract:
one grid's updates stay in order on one partition, and a dispatch consumer
can be scaled by grid), dead letters by their stream, registry records by
``table/id`` so a compacted topic keeps the latest version of each row.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

import orjson

from config.models import KafkaSettings
from gridwatch.registry import ID_FIELD, Registry


def alert_record(alert: dict[str, Any]) -> tuple[bytes, bytes]:
    """(key, value) of one alert update on ``gw.alerts``: key = its grid id."""
    return str(alert["grid"]["grid_id"]).encode(), orjson.dumps(alert)


def dead_letter_record(letter: dict[str, Any]) -> tuple[bytes, bytes]:
    """(key, value) of one dead letter on ``gw.deadletter``: key = its stream."""
    return str(letter.get("stream", "unknown")).encode(), orjson.dumps(letter)


def registry_record(record: dict[str, Any]) -> tuple[bytes, bytes]:
    """(key, value) of one ``gw.registry`` record: key ``table/id`` for compaction."""
    table = str(record.get("table", ""))
    row = record.get("row") or {}
    item_id = record.get("id") or row.get(ID_FIELD.get(table, ""), "")
    return f"{table}/{item_id}".encode(), orjson.dumps(record)


def publish_registry(source: str | Path | Registry, kafka: KafkaSettings,
                     timeout_s: float = 30.0) -> int:
    """Publish every row of a registry CSV directory (or a loaded registry) to the topic.

    Workers apply the records as they arrive (``Registry.apply_record``), so
    this is how reference data is changed without restarting them. Returns the
    number of records sent; raises if the broker did not acknowledge them.
    """
    registry = source if isinstance(source, Registry) else Registry.from_dir(source)
    return send_records(kafka, kafka.topics.registry,
                        (registry_record(r) for r in registry.records()), timeout_s)


def send_records(kafka: KafkaSettings, topic: str, records: Iterable[tuple[bytes, bytes]],
                 timeout_s: float = 30.0) -> int:
    """Send (key, value) records with kafka-python and wait for all acknowledgements."""
    from kafka import KafkaProducer

    from gridwatch.broker import kafka_python_config

    producer = KafkaProducer(**kafka_python_config(kafka), linger_ms=20, acks="all")
    try:
        futures = [producer.send(topic, key=key, value=value) for key, value in records]
        producer.flush(timeout=timeout_s)
        for future in futures:
            future.get(timeout=timeout_s)  # raises the delivery error, if any
        return len(futures)
    finally:
        producer.close(timeout=5)
