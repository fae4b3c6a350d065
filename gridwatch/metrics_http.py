"""Start a Prometheus ``/metrics`` endpoint without ever failing the process that asks."""

from __future__ import annotations

import logging

from prometheus_client import CollectorRegistry, start_http_server

log = logging.getLogger(__name__)


def start_metrics(registry: CollectorRegistry, host: str, port: int) -> int | None:
    """Serve ``registry`` from a daemon thread; returns the port (``port`` 0: a free one).

    A thread, not the event loop: scrapes must answer while the loop is busy.
    -1 turns it off; a port that is taken is logged and skipped.
    """
    if port < 0:
        return None
    try:
        server, _ = start_http_server(port, host, registry=registry)
    except OSError as exc:
        log.error("metrics endpoint not started: port %d: %s", port, exc)
        return None
    bound = int(server.server_port)
    shown = "localhost" if host in ("0.0.0.0", "::", "") else host
    log.info("metrics on http://%s:%d/metrics", shown, bound)
    return bound
