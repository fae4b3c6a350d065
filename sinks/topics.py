"""Create the alert side's topics: silences (compacted), muted alerts, undelivered alerts.

Kept apart from :func:`gridwatch.broker.ensure_topics` (the input/work side):
the notify and silence commands call this before they use a topic, so they
work against a broker where only the worker's topics exist.
"""

from __future__ import annotations

from typing import Any

from config.models import Settings


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
    broker starts; raises ``BrokerError`` (a ``RuntimeError``) naming what failed."""
    from gridwatch.broker import create_topics

    return create_topics(settings, alert_topic_plan(settings), timeout_s, "gridwatch-alerts")
