"""Columnar event buffers: numpy columns are cheap to build, sort and slice.

Events stay as integer codes (gate, device, person index…) until they are
emitted, so a week of a 2000-person city is a few tens of megabytes, not a
million dicts.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

ACCESS = (("ts", np.int64), ("gate", np.int32), ("dir", np.int8), ("method", np.int8),
          ("person", np.int32), ("conf", np.float64), ("plate", np.int32))
IOT = (("ts", np.int64), ("device", np.int32), ("metric", np.int8), ("value", np.float64),
       ("battery", np.float64))
PassRow = tuple[int, int, int, str, int]  # ts, gate, direction, method, person ref (-1: none)


class Table:
    """Append column arrays (or rows), then ``build`` once."""

    def __init__(self, columns: Sequence[tuple[str, Any]]) -> None:
        self.columns = tuple(columns)
        self.parts: dict[str, list[np.ndarray]] = {name: [] for name, _ in self.columns}

    def add(self, **cols: Any) -> None:
        n = next(np.size(v) for v in cols.values() if np.ndim(v) == 1)
        for name, dtype in self.columns:
            self.parts[name].append(np.broadcast_to(np.asarray(cols[name], dtype), (n,)).copy())

    def add_rows(self, rows: Sequence[Sequence[float]]) -> None:
        if rows:
            arr = list(zip(*rows, strict=True))
            self.add(**{name: np.array(arr[i]) for i, (name, _) in enumerate(self.columns)})

    def build(self) -> dict[str, np.ndarray]:
        return {name: (np.concatenate(self.parts[name]) if self.parts[name]
                       else np.zeros(0, dtype)) for name, dtype in self.columns}


def access_table() -> Table:
    return Table(ACCESS)


def iot_table() -> Table:
    return Table(IOT)
