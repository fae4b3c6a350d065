"""The JSONL file sink: one alert per line, appended, flushed (and fsynced) per batch.

After a crash between the write and the Kafka commit the batch is written
again: readers deduplicate on (``alert_id``, ``seq``), like every consumer.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import IO, Any

import orjson

from config.alerts import FileSink
from sinks.notify.exceptions import DeliveryError


class FileNotifier:
    def __init__(self, config: FileSink) -> None:
        self.name = config.name
        self.config = config
        self.path = Path(config.path)
        self._fh: IO[bytes] | None = None

    def notify(self, alerts: list[dict[str, Any]]) -> None:
        try:
            fh = self._open()
            fh.write(b"".join(orjson.dumps(a) + b"\n" for a in alerts))
            fh.flush()
            if self.config.fsync:
                os.fsync(fh.fileno())
        except OSError as exc:  # a full or read-only disk may come back: retry
            self.close()
            raise DeliveryError(f"{self.path}: {exc}", recoverable=True) from exc

    def _open(self) -> IO[bytes]:
        if self._fh is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._fh = self.path.open("ab")
        return self._fh

    def close(self) -> None:
        if self._fh is not None:
            fh, self._fh = self._fh, None
            fh.close()
