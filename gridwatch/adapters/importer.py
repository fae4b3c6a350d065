"""``gridwatch import``: history files into the input topics, the registry into its topic.

History usually arrives as exports: CSV with a header row or JSON Lines, one
contract message per row. Rows are validated one by one; bad rows go to the
dead-letter topic with their line number, so a file with a few broken lines
still imports and the operator can find and fix exactly those lines.
"""

from __future__ import annotations

import argparse
import csv
import io
import sys
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson

from config.models import Settings
from gridwatch.adapters.mapping import NUMERIC_FIELDS
from gridwatch.adapters.producer import KafkaSink, received_at
from gridwatch.contract import dead_letter, loads, parse_item
from gridwatch.progress import Progress

STREAMS = {"access": "access", "iot": "iot", "reports": "report", "report": "report"}
Row = tuple[int, str, Any, str | None]  # line, raw text, decoded item, decode error


def jsonl_rows(path: Path) -> Iterator[Row]:
    """(line number, raw line, object or None, error) per non-empty line."""
    with path.open("rb") as fh:
        for n, line in enumerate(fh, 1):
            if not line.strip():
                continue
            raw = line.decode("utf-8", "replace").rstrip("\r\n")
            try:
                yield n, raw, loads(line), None
            except orjson.JSONDecodeError as exc:
                yield n, raw, None, f"invalid JSON ({exc})"


def csv_value(column: str, cell: str) -> Any:
    """CSV cells are text: numeric contract fields become numbers when they parse."""
    if column in NUMERIC_FIELDS:
        try:
            return float(cell)
        except ValueError:
            return cell  # left for validation to reject with the field's name
    return cell


def csv_rows(path: Path) -> Iterator[Row]:
    """Rows of a CSV with a header; empty cells mean the field is absent."""
    with path.open(encoding="utf-8-sig", newline="") as fh:
        reader = csv.reader(fh)
        header = [h.strip() for h in next(reader, [])]
        for cells in reader:
            if not any(c.strip() for c in cells):
                continue
            out = io.StringIO()
            csv.writer(out, lineterminator="").writerow(cells)
            if len(cells) > len(header):
                yield reader.line_num, out.getvalue(), None, \
                    f"{len(cells)} cells but {len(header)} columns"
                continue
            item = {k: csv_value(k, v.strip()) for k, v in zip(header, cells, strict=False)
                    if v.strip()}
            yield reader.line_num, out.getvalue(), item, None


def rows(path: Path, fmt: str | None = None) -> Iterator[Row]:
    fmt = fmt or ("csv" if path.suffix.lower() == ".csv" else "jsonl")
    return csv_rows(path) if fmt == "csv" else jsonl_rows(path)


def import_file(path: Path, stream: str, settings: Settings, sink: KafkaSink,
                fmt: str | None = None, progress: Progress | None = None) -> Counter[str]:
    """Validate and send every row; returns counts of accepted and rejected rows."""
    counts: Counter[str] = Counter()
    for n, raw, item, error in rows(path, fmt):
        if error is None:
            try:
                parse_item(stream, item)
            except ValueError as exc:
                error = str(exc)
        if error is None:
            sink.events(stream, [item])
            counts["accepted"] += 1
        else:
            letter = dead_letter(stream, raw, f"{path.name} line {n}: {error}",
                                 received_at(settings))
            sink.dead([letter])
            counts["rejected"] += 1
        if progress is not None:
            progress.update(len(raw) + 1)
    if progress is not None:  # blank lines and multi-byte text: the estimate falls short
        progress.update(max(0.0, progress.total - progress.done))
    return counts


def import_command(args: argparse.Namespace) -> int:
    """``gridwatch import FILE --stream S`` or ``gridwatch import --registry DIR``."""
    from gridwatch.broker import ensure_topics
    from sinks.kafka import publish_registry
    from streams.worker import worker_settings

    if bool(args.file) == bool(args.registry):
        print("error: give either FILE with --stream, or --registry DIR", file=sys.stderr)
        return 2
    if args.file and not args.stream:
        print("error: FILE needs --stream access|iot|reports", file=sys.stderr)
        return 2
    settings = worker_settings(args.config, args.bootstrap)
    if not settings.kafka.bootstrap_servers:
        print("error: import needs Kafka: --bootstrap or GRIDWATCH_KAFKA__BOOTSTRAP_SERVERS",
              file=sys.stderr)
        return 2
    ensure_topics(settings)
    if args.registry:
        n = publish_registry(Path(args.registry), settings.kafka)
        print(f"published {n} registry records to {settings.kafka.topics.registry}")
        return 0
    path = Path(args.file)
    sink = KafkaSink(settings.kafka, args.batch, linger_ms=200)
    progress = Progress(path.stat().st_size, f"import {path.name}")
    try:
        counts = import_file(path, STREAMS[args.stream], settings, sink, args.format, progress)
    finally:
        progress.close()
        sink.close()
    if sink.errors:
        print(f"error: Kafka refused records: {sink.errors[:3]}", file=sys.stderr)
        return 1
    print(f"imported {counts['accepted']} events in {sink.counts['messages']} messages, "
          f"{counts['rejected']} bad rows → {settings.kafka.topics.deadletter}")
    return 0

