"""``gridwatch ingest http``: POST contract messages, one or a JSON array per request.

Access systems and gateways that push HTTP get an answer per item: each is
validated on its own (the contract's ``parse_item``), accepted ones are
acknowledged only once Kafka has them, rejected ones go to the dead-letter
topic as well, so the operator sees what the sender was told. When Kafka is
slow the server sheds load early (503 + Retry-After) rather than buffering
without bound.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import logging.config
from collections import Counter
from typing import Any

import orjson
from aiohttp import web
from aiokafka.errors import KafkaError

from config.models import Settings
from gridwatch.adapters.producer import AsyncSink, Busy, received_at
from gridwatch.contract import INPUT_MODELS, dead_letter, loads, parse_item
from sinks.kafka import dead_letter_record

log = logging.getLogger(__name__)

STREAMS = {"access": "access", "iot": "iot", "reports": "report", "report": "report"}
MAX_ITEMS = 5000
MAX_BODY = 16 * 1024 * 1024
SINK: web.AppKey[AsyncSink] = web.AppKey("sink", AsyncSink)
SETTINGS: web.AppKey[Settings] = web.AppKey("settings", Settings)
DEAD: web.AppKey[Any] = web.AppKey("dead", object)
COUNTS: web.AppKey[Counter[str]] = web.AppKey("counts", Counter)


def _json(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> web.Response:
    return web.Response(body=orjson.dumps(data), status=status, headers=headers,
                        content_type="application/json")


def check_items(stream: str, data: Any) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(accepted messages, per-item results) for one decoded request body."""
    items = data if isinstance(data, list) else [data]
    good: list[dict[str, Any]] = []
    results: list[dict[str, Any]] = []
    for i, item in enumerate(items):
        try:
            event = parse_item(stream, item)
        except ValueError as exc:
            results.append({"index": i, "status": "error", "error": str(exc)})
            continue
        good.append(item)
        results.append({"index": i, "status": "accepted", "event_id": event.event_id})
    return good, results


async def ingest(request: web.Request) -> web.Response:
    """POST /v1/{stream}: validate each item, produce, answer per item."""
    stream = STREAMS.get(request.match_info["stream"])
    if stream is None:
        return _json({"error": f"unknown stream; use one of {sorted(STREAMS)}"}, 404)
    body = await request.read()
    try:
        data = loads(body)
    except orjson.JSONDecodeError as exc:
        await _dead(request.app, stream, [(body.decode("utf-8", "replace"),
                                           f"message: invalid JSON ({exc})")])
        return _json({"error": f"invalid JSON: {exc}"}, 400)
    if isinstance(data, list) and len(data) > MAX_ITEMS:
        return _json({"error": f"at most {MAX_ITEMS} items per request"}, 413)
    good, results = check_items(stream, data)
    bad = [(orjson.dumps(data[r["index"]] if isinstance(data, list) else data).decode(),
            r["error"]) for r in results if r["status"] == "error"]
    try:
        await _produce(request.app, stream, good)
        await _dead(request.app, stream, bad)
    except Busy as exc:
        return _busy(request.app, exc.retry_after, "too many events waiting for Kafka")
    except (TimeoutError, KafkaError):
        return _busy(request.app, 5.0, "Kafka did not acknowledge in time")
    counts = request.app[COUNTS]
    counts["accepted"] += len(good)
    counts["rejected"] += len(bad)
    status = 422 if bad and not good else 200
    return _json({"accepted": len(good), "rejected": len(bad), "results": results}, status)


async def _produce(app: web.Application, stream: str, good: list[dict[str, Any]]) -> None:
    if good:
        topic = app[SETTINGS].kafka.topics.for_stream(stream)
        await asyncio.wait_for(app[SINK].submit(topic, good), timeout=30.0)


def _busy(app: web.Application, retry_after: float, why: str) -> web.Response:
    app[COUNTS]["busy"] += 1
    return _json({"error": why}, 503, {"Retry-After": str(max(1, round(retry_after)))})


async def _dead(app: web.Application, stream: str, bad: list[tuple[str, str]]) -> None:
    """Rejected items to the dead-letter topic, each with its reason."""
    now = received_at(app[SETTINGS])
    topic = app[SETTINGS].kafka.topics.deadletter
    for raw, error in bad:
        key, value = dead_letter_record(dead_letter(stream, raw, error, now))
        await app[DEAD](topic, value, key)


async def healthz(request: web.Request) -> web.Response:
    sink = request.app[SINK]
    return _json({"status": "ok", "in_flight": sink.in_flight,
                  "counts": dict(request.app[COUNTS])})


async def openapi_json(request: web.Request) -> web.Response:
    return _json(openapi())


def _result_schema() -> dict[str, Any]:
    item = {"type": "object", "required": ["index", "status"], "properties": {
        "index": {"type": "integer", "description": "position in the request (0 for one)"},
        "status": {"enum": ["accepted", "error"]},
        "event_id": {"type": "string"}, "error": {"type": "string"}}}
    return {"type": "object", "required": ["accepted", "rejected", "results"], "properties": {
        "accepted": {"type": "integer"}, "rejected": {"type": "integer"},
        "results": {"type": "array", "items": item}}}


def _operation(model: str, stream: str) -> dict[str, Any]:
    ref = {"$ref": f"#/components/schemas/{model}"}
    result = {"content": {"application/json": {"schema": {
        "$ref": "#/components/schemas/IngestResult"}}}}
    error = {"content": {"application/json": {"schema": {
        "type": "object", "properties": {"error": {"type": "string"}}}}}}
    return {"post": {
        "summary": f"Send one {stream} message or a JSON array of them",
        "requestBody": {"required": True, "content": {"application/json": {"schema": {
            "oneOf": [ref, {"type": "array", "items": ref, "maxItems": MAX_ITEMS}]}}}},
        "responses": {
            "200": {"description": "processed; see each result", **result},
            "422": {"description": "every item was rejected", **result},
            "400": {"description": "the body is not JSON", **error},
            "413": {"description": f"more than {MAX_ITEMS} items", **error},
            "503": {"description": "Kafka is slow: retry after the Retry-After header; "
                    "nothing of this request was acknowledged", **error}}}}


def openapi() -> dict[str, Any]:
    """OpenAPI 3.1 of the ingest API, its schemas straight from the contract models."""
    schemas: dict[str, Any] = {"IngestResult": _result_schema()}
    paths: dict[str, Any] = {}
    for path, stream in (("access", "access"), ("iot", "iot"), ("reports", "report")):
        model = INPUT_MODELS[stream]
        schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
        schemas.update(schema.pop("$defs", {}))
        schemas[model.__name__] = schema
        paths[f"/v1/{path}"] = _operation(model.__name__, stream)
    paths["/healthz"] = {"get": {"summary": "liveness and events waiting for Kafka",
                                 "responses": {"200": {"description": "up"}}}}
    return {"openapi": "3.1.0",
            "info": {"title": "gridwatch ingest", "version": "1",
                     "description": "Input messages of the gridwatch contract v1."},
            "paths": paths, "components": {"schemas": schemas}}


def make_app(settings: Settings, sink: AsyncSink, dead: Any) -> web.Application:
    """The web app; ``dead(topic, value, key)`` is an awaitable send for dead letters."""
    app = web.Application(client_max_size=MAX_BODY)
    app[SETTINGS], app[SINK], app[DEAD], app[COUNTS] = settings, sink, dead, Counter()
    app.router.add_post("/v1/{stream}", ingest)
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/openapi.json", openapi_json)
    return app


async def kafka_app(settings: Settings, batch_max: int = 200, linger_ms: int = 20,
                    max_pending: int = 10_000) -> tuple[web.Application, Any]:
    """The app wired to an aiokafka producer (started); stop it after the app."""
    from aiokafka import AIOKafkaProducer

    from gridwatch.broker import aiokafka_config

    producer = AIOKafkaProducer(**aiokafka_config(settings.kafka), acks="all", linger_ms=5)
    await producer.start()

    async def send(topic: str, value: bytes, key: bytes) -> None:
        await producer.send_and_wait(topic, value=value, key=key)

    sink = AsyncSink(send, batch_max, linger_ms / 1000.0, max_pending)
    app = make_app(settings, sink, send)

    async def close(_: web.Application) -> None:
        await sink.close()
        await producer.stop()
    app.on_cleanup.append(close)
    return app, producer


def ingest_command(args: argparse.Namespace) -> int:
    """Serve until Ctrl-C (aiohttp handles the signals)."""
    import sys

    from gridwatch.broker import ensure_topics
    from streams.worker import logging_config, worker_settings

    settings = worker_settings(args.config, args.bootstrap)
    if not settings.kafka.bootstrap_servers:
        print("error: ingest needs Kafka: --bootstrap or GRIDWATCH_KAFKA__BOOTSTRAP_SERVERS",
              file=sys.stderr)
        return 2
    logging.config.dictConfig(logging_config())  # counts only, never payloads
    ensure_topics(settings)

    async def app() -> web.Application:
        made, _ = await kafka_app(settings, max_pending=args.max_pending)
        return made
    web.run_app(app(), host=args.host, port=args.port, access_log=None)
    return 0

