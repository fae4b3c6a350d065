"""The Faust app's agents under ``test_context``: memory store, no broker, mocked topics.

Faust's recipe: ``agent.test_context()`` (which resumes flow control), the
memory store, and an ``AsyncMock`` for each outbound topic's ``send``.
"""

from __future__ import annotations

import asyncio
import gc
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from unittest.mock import AsyncMock, patch

import orjson
import pytest

from config.models import load_settings
from gridwatch.events import Iot
from gridwatch.registry import Registry
from streams.app import Pipeline, create_app
from streams.checkpoints import MemoryCheckpointStore
from streams.routing import partition_of
from streams.workmsg import decode_work, encode_work

DATA = Path(__file__).parent / "data"
T0 = 1795303200.0  # 2026-11-22T08:00:00+08:00


@pytest.fixture
def pipeline() -> Iterator[Pipeline]:
    """The app for default settings with checkpoints in memory and every send mocked."""
    settings = load_settings()
    pipe = create_app(settings, Registry.from_dir(DATA / "registry"),
                      store=MemoryCheckpointStore(), checkpoint_every_s=0.0,
                      follow_topics=False)
    assert pipe.app.conf.store.scheme == "memory"
    with patch.multiple(pipe.topics["work"], send=AsyncMock()), \
            patch.multiple(pipe.topics["alerts"], send=AsyncMock()), \
            patch.multiple(pipe.topics["deadletter"], send=AsyncMock()):
        yield pipe


async def until(check: Callable[[], Any], timeout_s: float = 5.0) -> None:
    """Agents batch with a short timeout: poll instead of waiting for one put."""
    deadline = asyncio.get_running_loop().time() + timeout_s
    while not check():
        assert asyncio.get_running_loop().time() < deadline, "timed out"
        await asyncio.sleep(0.02)


def sends(topic: Any) -> list[dict[str, Any]]:
    return [call.kwargs for call in topic.send.await_args_list]


async def test_the_router_sends_one_batch_per_partition_and_dead_letters_rejects(
        pipeline: Pipeline) -> None:
    ok = {"event_id": "i-1", "ts": "2026-11-22T08:00:00+08:00", "device_id": "sm-1001",
          "metric": "smoke", "value": 1}
    other = {**ok, "event_id": "i-2", "device_id": "gs-1002", "metric": "gas", "value": 30}
    async with pipeline.routers["iot"].test_context() as agent:
        await agent.put(orjson.dumps(ok), key=b"k", partition=1, wait=False)
        await agent.put(orjson.dumps([other, {"event_id": "bad"}]), key=b"k", partition=1,
                        wait=False)
        await agent.put(None, key=b"k", partition=1, wait=False)
        await until(lambda: pipeline.topics["deadletter"].send.await_count == 2)
        await until(lambda: pipeline.topics["work"].send.await_count >= 2)
    parts = pipeline.live.settings.kafka.partitions
    routed = {s["partition"]: decode_work(s["value"]) for s in sends(pipeline.topics["work"])}
    assert [e.event_id for e in routed[partition_of("grid-0103", parts)].events] == ["i-1"]
    assert [e.event_id for e in routed[partition_of("grid-0104", parts)].events] == ["i-2"]
    assert all(set(m.sources) == {"iot/1"} for m in routed.values())
    letters = [orjson.loads(s["value"]) for s in sends(pipeline.topics["deadletter"])]
    assert [d["stream"] for d in letters] == ["iot", "iot"]
    assert "ts: Field required" in letters[0]["error"] and "null" in letters[1]["error"]


async def test_a_router_batch_cut_short_by_shutdown_is_not_acknowledged(
        pipeline: Pipeline) -> None:
    """A worker stopped while a batch's work messages are still being handed to the
    producer must leave that batch unacknowledged: the consumer's last commit would
    otherwise pass over events that never reached ``gw.work``. A batch routed whole
    is acknowledged."""
    from faust.streams import Stream

    acked: list[int] = []
    original = Stream.ack

    async def ack(self: Stream, event: Any) -> bool:
        acked.append(event.message.offset)
        return await original(self, event)

    event = {"event_id": "i-1", "ts": "2026-11-22T08:00:00+08:00", "device_id": "sm-1001",
             "metric": "smoke", "value": 1}
    stuck = asyncio.Event()
    work_send = pipeline.topics["work"].send

    async def send(**kwargs: Any) -> None:
        if kwargs["value"] and b"i-2" in kwargs["value"]:
            await stuck.wait()  # never set: the producer is still busy at shutdown

    work_send.side_effect = send
    with patch.object(Stream, "ack", ack):
        async with pipeline.routers["iot"].test_context() as agent:
            await agent.put(orjson.dumps(event), key=b"k", partition=1, wait=False)
            await until(lambda: work_send.await_count >= 1 and acked)
            await agent.put(orjson.dumps({**event, "event_id": "i-2"}), key=b"k",
                            partition=1, wait=False)
            await until(lambda: any(b"i-2" in (c.kwargs["value"] or b"")
                                    for c in work_send.await_args_list))
        for _ in range(5):  # let an abandoned batch's finaliser run, if it would ack
            gc.collect()
            await asyncio.sleep(0.01)
    assert acked == [0], "only the batch routed whole is acknowledged"


async def test_the_work_agent_alerts_by_grid_and_checkpoints_what_it_acked(
        pipeline: Pipeline) -> None:
    p = partition_of("grid-0103", pipeline.live.settings.kafka.partitions)
    alarm = encode_work("r", {"iot/0": T0 + 60}, [Iot("i-1", T0, "sm-1001", "smoke", 0.0),
                                                   Iot("i-2", T0 + 60, "sm-1001", "smoke", 1.0)])
    async with pipeline.work.test_context() as agent:
        await agent.put(alarm, key=b"", partition=p, wait=False)
        await until(lambda: pipeline.topics["alerts"].send.await_count == 1)
        store = pipeline.live.store
        assert isinstance(store, MemoryCheckpointStore)
        await until(lambda: p in store.saved)
    sent = sends(pipeline.topics["alerts"])[0]
    alert = orjson.loads(sent["value"])
    assert sent["key"] == b"grid-0103"
    assert (alert["kind"], alert["severity"], alert["status"]) == (
        "sensor_threshold", "red", "firing")
    assert store.saved[p].offset == 0
