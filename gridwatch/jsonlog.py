"""Structured logs: one JSON object per line, for the log shipper, without personal data.

Fields: ``ts`` (RFC 3339, UTC), ``level``, ``logger``, ``msg``, ``worker``
(host-pid, or ``GRIDWATCH_WORKER_ID``), and ``partition`` / ``detector`` /
``stream`` when the call passes them in ``extra=``. Our log lines carry
counts and pseudonymous ids only; as a second line of defence anything that
looks like a mainland mobile number or a resident ID number is masked
before the line is written, so a stray ``%r`` of an input cannot leak one.
"""

from __future__ import annotations

import logging
import os
import re
import socket
from datetime import UTC, datetime
from typing import Any

import orjson

CONTEXT_FIELDS = ("partition", "detector", "stream", "sink")
# 11-digit mobile numbers and 18-character resident ID numbers (身份证号), not inside
# a longer run of digits (offsets, epoch milliseconds).
PERSONAL = re.compile(r"(?<!\d)(?:1[3-9]\d{9}|\d{17}[\dXx])(?!\d)")


def worker_id() -> str:
    """Which worker wrote the line: set by the deployment, or host and pid."""
    return os.environ.get("GRIDWATCH_WORKER_ID") or f"{socket.gethostname()}-{os.getpid()}"


def scrub(text: str) -> str:
    """Mask phone and ID numbers.

    >>> scrub("call 13812345678, id 11010519491231002X, offset 1795303200000")
    'call [redacted], id [redacted], offset 1795303200000'
    """
    return PERSONAL.sub("[redacted]", text)


class JsonFormatter(logging.Formatter):
    """``logging`` records as JSON lines (use as ``{"()": "gridwatch.jsonlog.JsonFormatter"}``)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__()
        self.worker = worker_id()

    def format(self, record: logging.LogRecord) -> str:
        data: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname, "logger": record.name,
            "msg": scrub(record.getMessage()), "worker": self.worker}
        for name in CONTEXT_FIELDS:
            value = record.__dict__.get(name)
            if value is not None:
                data[name] = value
        if record.exc_info:
            data["exc"] = scrub(self.formatException(record.exc_info))
        return orjson.dumps(data, default=str).decode()


def use_json(config: dict[str, Any], log_format: str = "json") -> dict[str, Any]:
    """Switch a ``logging.config`` dict's handlers to JSON lines (unless ``plain``)."""
    if log_format != "json":
        return config
    config.setdefault("formatters", {})["json"] = {"()": f"{__name__}.JsonFormatter"}
    for handler in config.get("handlers", {}).values():
        handler["formatter"] = "json"
    return config
