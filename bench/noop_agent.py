"""The baseline of bench/bench_live.py: a Faust agent that does nothing per message.

    python bench/noop_agent.py BOOTSTRAP TOPIC N

Prints ``done N FIRST LAST`` (wall-clock seconds of the first and the N-th
message) and exits. Same broker, same Faust settings as the worker, raw bytes
(no deserialisation), so what it measures is Faust's own cost per message.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
import time
import uuid

import faust


def main() -> None:
    bootstrap, topic_name, total = sys.argv[1], sys.argv[2], int(sys.argv[3])
    app_id = f"bench-noop-{uuid.uuid4().hex[:8]}"
    # Faust makes a data directory even with memory stores: in the temp dir, as the
    # worker's (streams/app.py), not in whatever directory the bench was started from.
    datadir = tempfile.mkdtemp(prefix=f"{app_id}-")
    app = faust.App(app_id, broker=f"kafka://{bootstrap}", datadir=datadir,
                    store="memory://", web_enabled=False, topic_disable_leader=True,
                    topic_allow_declare=False, consumer_auto_offset_reset="earliest",
                    broker_session_timeout=6.0, broker_heartbeat_interval=2.0,
                    key_serializer="raw", value_serializer="raw")
    topic = app.topic(topic_name, key_type=bytes, value_type=bytes)
    seen = {"n": 0, "first": 0.0}

    @app.agent(topic)
    async def noop(stream: faust.StreamT) -> None:
        async for _ in stream:
            seen["n"] += 1
            if seen["n"] == 1:
                seen["first"] = time.time()
            if seen["n"] == total:
                print(f"done {total} {seen['first']} {time.time()}", flush=True)
                shutil.rmtree(datadir, ignore_errors=True)
                os._exit(0)  # stopping the app from inside its own agent would wait forever

    worker = faust.Worker(app, loglevel="WARN", quiet=True, redirect_stdouts=False)
    worker.execute_from_commandline()


if __name__ == "__main__":
    main()
