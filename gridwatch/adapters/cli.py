"""The adapters' subcommands, wired into ``gridwatch`` by one call in ``gridwatch.cli``.

Kept apart from the adapters so that building the parser imports neither
paho nor aiohttp: ``gridwatch --help`` stays fast.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable

Command = Callable[[argparse.Namespace], int]
AddFn = Callable[[str, Command, str], argparse.ArgumentParser]


def _kafka_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--config")
    p.add_argument("--bootstrap", help="Kafka bootstrap servers (host:port)")


def _bridge(args: argparse.Namespace) -> int:
    from gridwatch.adapters.mqtt import bridge_command

    return bridge_command(args)


def _ingest(args: argparse.Namespace) -> int:
    from gridwatch.adapters.http import ingest_command

    return ingest_command(args)


def _import(args: argparse.Namespace) -> int:
    from gridwatch.adapters.importer import import_command

    return import_command(args)


def add_commands(add: AddFn) -> None:
    """``bridge mqtt``, ``ingest http`` and ``import``."""
    b = add("bridge", _bridge, "bridge vendor MQTT feeds into the input topics (mappings)")
    m = b.add_subparsers(dest="protocol", required=True).add_parser(
        "mqtt", help="subscribe to MQTT, map payloads, produce to Kafka")
    m.add_argument("--mapping", action="append", metavar="FILE",
                   help="YAML file with a 'mappings:' list (repeatable)")
    m.add_argument("--mqtt", metavar="HOST[:PORT]", help="MQTT broker (overrides the config)")
    _kafka_options(m)

    i = add("ingest", _ingest, "HTTP endpoint for contract messages (single or batches)")
    h = i.add_subparsers(dest="protocol", required=True).add_parser(
        "http", help="POST /v1/{access|iot|reports}, GET /openapi.json, /healthz")
    h.add_argument("--host", default="127.0.0.1")
    h.add_argument("--port", type=int, default=8080)
    h.add_argument("--max-pending", type=int, default=10_000,
                   help="events waiting for Kafka before requests get 503")
    _kafka_options(h)

    f = add("import", _import, "import CSV/JSONL history, or a registry directory")
    f.add_argument("file", nargs="?", help="CSV (header row) or JSONL file")
    f.add_argument("--stream", choices=["access", "iot", "reports", "report"],
                   help="input stream of FILE")
    f.add_argument("--format", choices=["csv", "jsonl"], help="default: by file suffix")
    f.add_argument("--registry", metavar="DIR",
                   help="publish a registry CSV directory to gw.registry instead")
    f.add_argument("--batch", type=int, default=500, help="events per Kafka message")
    _kafka_options(f)
