"""A progress line on stderr for long replays and sweeps (only on a terminal)."""

from __future__ import annotations

import sys
import time
from typing import TextIO


class Progress:
    """``done/total`` with rate and ETA, redrawn at most a few times a second."""

    def __init__(self, total: float, label: str, unit: str = "B",
                 stream: TextIO | None = None, enabled: bool | None = None) -> None:
        self.total = max(total, 1.0)
        self.label = label
        self.unit = unit
        self.stream = stream or sys.stderr
        self.enabled = self.stream.isatty() if enabled is None else enabled
        self.done = 0.0
        self.started = time.monotonic()
        self._drawn = 0.0

    def update(self, amount: float) -> None:
        self.done += amount
        now = time.monotonic()
        if self.enabled and now - self._drawn >= 0.2:
            self._drawn = now
            self._draw(now)

    def close(self) -> None:
        if self.enabled:
            self._draw(time.monotonic())
            self.stream.write("\n")
            self.stream.flush()

    def _draw(self, now: float) -> None:
        frac = min(self.done / self.total, 1.0)
        elapsed = max(now - self.started, 1e-9)
        eta = elapsed * (1 - frac) / frac if frac > 0 else 0.0
        bar = "#" * int(frac * 30)
        self.stream.write(f"\r{self.label} [{bar:<30}] {frac:6.1%} "
                          f"{self.done / elapsed / 1e6:6.1f} M{self.unit}/s eta {eta:5.0f}s")
        self.stream.flush()
