"""Create the alert side's topics: silences (compacted), muted alerts, undelivered alerts.

Kept apart from :func:`gridwatch.broker.ensure_topics` (the input/work side):
the notify and silence commands call this before they use a topic, so they
work against a broker where only the worker's topics exist.
"""

from __future__ import annotations

import time
from typing import Any

from config.models import Settings

TOPIC_EXISTS = 36


def alert_topic_plan(settings: Settings) -> dict[str, dict[str, Any]]:
    """Silences: one partition (every worker reads all, in order), compacted by id."""
    t, p = settings.kafka.topics, settings.kafka.partitions
    rf = settings.kafka.replication_factor
    return {
        t.alerts: {"num_partitions": p, "replication_factor": rf},
        t.alerts_muted: {"num_partitions": p, "replication_factor": rf},
        t.alerts_undelivered: {"num_partitions": p, "replication_factor": rf},
        t.silences: {"num_partitions": 1, "replication_factor": rf,
                     "configs": {"cleanup.policy": "compact"}},
    }


def ensure_alert_topics(settings: Settings, timeout_s: float = 20.0) -> list[str]:
    """Create the missing alert topics; returns the names created. Retries while the
    broker starts; raises ``RuntimeError`` naming the topics it could not create."""
    from kafka.admin import KafkaAdminClient

    from gridwatch.broker import kafka_python_config

    plan = alert_topic_plan(settings)
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            admin = KafkaAdminClient(**kafka_python_config(settings.kafka),
                                     request_timeout_ms=10_000, client_id="gridwatch-alerts")
            try:
                result = admin.create_topics(plan, raise_errors=False)
                created = [x["name"] for x in result["topics"] if x["error_code"] == 0]
                failed = [f"{x['name']}: error {x['error_code']}" for x in result["topics"]
                          if x["error_code"] not in (0, TOPIC_EXISTS)]
                if failed:
                    raise RuntimeError("could not create topics: " + "; ".join(failed))
                admin.wait_for_topics(list(plan), timeout_ms=int(timeout_s * 1000))
                return created
            finally:
                admin.close()
        except RuntimeError:
            raise
        except Exception as exc:  # noqa: BLE001 - the broker may still be starting
            if time.monotonic() > deadline:
                raise RuntimeError(f"could not create alert topics: {exc!r}") from exc
            time.sleep(0.5)
