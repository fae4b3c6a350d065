"""Where a worker shows itself: the Prometheus port, the live board, the log format."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from config.base import Section


class ObservabilitySettings(Section):
    """Ports of the worker's metrics endpoint and live board; 0 = a free port, -1 = off.

    A port that is taken is logged and skipped, never fatal: watching the
    pipeline must not stop it.
    """

    metrics_port: int = Field(default=9464, ge=-1, le=65535,
                              description="Prometheus /metrics of the worker (0: any free port)")
    notify_metrics_port: int = Field(default=9465, ge=-1, le=65535,
                                     description="Prometheus /metrics of `gridwatch notify`")
    board_port: int = Field(default=8464, ge=-1, le=65535,
                            description="the live board of the worker (0: any free port)")
    bind_host: str = Field(default="0.0.0.0", description="interface of both servers")
    log_format: Literal["json", "plain"] = Field(
        default="json", description="json: one object per line (ts, level, logger, msg, …)")
