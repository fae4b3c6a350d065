"""Shared fixtures: one embedded broker per session, fresh topics and workers per test.

End-to-end tests share the Tansu broker (it starts in about a second) but
never a topic or a consumer group: :func:`e2e_settings` gives each test its
own names, so tests cannot see each other's messages. Every wait has a
deadline; a test fails with what it saw rather than hang.
"""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest
from hypothesis import settings as hypothesis_settings

from config.models import Settings, load_settings
from gridwatch.broker import EmbeddedBroker, ensure_topics, kafka_python_config
from gridwatch.runner import WorkerProcess, write_config
from sinks.kafka import send_records

DATA = Path(__file__).parent / "data"

# Property tests draw the same examples on every run (with the hypothesis version held in
# pyproject.toml), so a red run means a change, not an unlucky draw; fresh examples on
# demand: HYPOTHESIS_PROFILE=explore make test.
hypothesis_settings.register_profile("repeatable", derandomize=True)
hypothesis_settings.register_profile("explore", derandomize=False)
hypothesis_settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "repeatable"))


@pytest.fixture(scope="session")
def broker() -> Iterator[EmbeddedBroker]:
    """The embedded Tansu broker, started once for the whole session."""
    with EmbeddedBroker() as b:
        yield b


def unique_settings(bootstrap: str, partitions: int = 2, **sections: Any) -> Settings:
    """Default settings with this test's own topics and group; ``sections`` override
    whole config sections by dict (e.g. ``pipeline={"allowed_lateness_s": 0}``)."""
    tag = uuid.uuid4().hex[:8]
    base = load_settings()
    topics = base.kafka.topics.model_copy(update={
        name: f"t{tag}.{value}" for name, value in base.kafka.topics.model_dump().items()})
    kafka = base.kafka.model_copy(update={"bootstrap_servers": bootstrap, "topics": topics,
                                          "partitions": partitions,
                                          "group_id": f"gridwatch-{tag}"})
    data = base.model_dump(mode="json")
    data["kafka"] = kafka.model_dump(mode="json")
    for name, override in sections.items():
        data[name] = {**data[name], **override}
    return Settings(**data)


@pytest.fixture
def e2e_settings(broker: EmbeddedBroker) -> Callable[..., Settings]:
    """Factory: settings with unique topics on the session broker, topics created."""
    def make(**sections: Any) -> Settings:
        settings = unique_settings(broker.bootstrap, **sections)
        ensure_topics(settings)
        return settings
    return make


@pytest.fixture
def worker(tmp_path: Path) -> Iterator[Callable[..., WorkerProcess]]:
    """Factory: start ``gridwatch worker`` for some settings; all are stopped afterwards."""
    started: list[WorkerProcess] = []

    def start(settings: Settings, registry: Path | None = DATA / "registry") -> WorkerProcess:
        n = len(started)
        config = write_config(settings, tmp_path / f"config-{n}.yaml")
        proc = WorkerProcess(config, registry, tmp_path / f"worker-{n}.log")
        proc.start()
        started.append(proc)
        return proc

    yield start
    for proc in started:
        proc.stop()


class Topic:
    """Reads one topic from the beginning (no consumer group) and remembers everything."""

    def __init__(self, settings: Settings, name: str) -> None:
        from kafka import KafkaConsumer, TopicPartition

        self.name = name
        self.consumer = KafkaConsumer(**kafka_python_config(settings.kafka), group_id=None,
                                      enable_auto_commit=False, auto_offset_reset="earliest")
        parts = self.consumer.partitions_for_topic(name) or {0}
        tps = [TopicPartition(name, p) for p in sorted(parts)]
        self.consumer.assign(tps)
        self.consumer.seek_to_beginning(*tps)
        self.values: list[Any] = []

    def poll(self, timeout_s: float = 0.5) -> None:
        for records in self.consumer.poll(timeout_ms=int(timeout_s * 1000)).values():
            self.values.extend(orjson.loads(r.value) for r in records)

    def wait_for(self, check: Callable[[list[Any]], bool], timeout_s: float = 60.0,
                 worker: WorkerProcess | None = None) -> list[Any]:
        """Poll until ``check(values)``; fail with what arrived (and the worker's log)."""
        deadline = time.monotonic() + timeout_s
        while not check(self.values):
            if time.monotonic() > deadline:
                log = worker.tail(40) if worker is not None else ""
                pytest.fail(f"{self.name}: condition not met in {timeout_s:.0f}s; got "
                            f"{len(self.values)} records: {self.values[-5:]!r}\n{log}")
            if worker is not None and worker.exit_code() is not None:
                pytest.fail(f"worker exited with {worker.exit_code()}:\n{worker.tail(40)}")
            self.poll()
        return self.values

    def settle(self, quiet_s: float = 2.0) -> list[Any]:
        """Keep reading until nothing new arrives for ``quiet_s``."""
        last, quiet_since = len(self.values), time.monotonic()
        while time.monotonic() - quiet_since < quiet_s:
            self.poll(0.3)
            if len(self.values) != last:
                last, quiet_since = len(self.values), time.monotonic()
        return self.values

    def close(self) -> None:
        self.consumer.close()


@pytest.fixture
def topic() -> Iterator[Callable[[Settings, str], Topic]]:
    """Factory: a :class:`Topic` reader, closed after the test."""
    readers: list[Topic] = []

    def open_(settings: Settings, name: str) -> Topic:
        readers.append(Topic(settings, name))
        return readers[-1]

    yield open_
    for reader in readers:
        reader.close()


def produce(settings: Settings, topic: str, *values: bytes | None | Any,
            key: bytes = b"k") -> None:
    """Send raw values (bytes as they are, anything else as JSON) and wait for the acks."""
    records = [(key, v if v is None or isinstance(v, bytes) else orjson.dumps(v))
               for v in values]
    send_records(settings.kafka, topic, records)


@pytest.fixture
def send() -> Callable[..., None]:
    return produce
