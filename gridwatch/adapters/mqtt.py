"""``gridwatch bridge mqtt``: vendor MQTT feeds → mapped, validated → input topics.

Most IoT devices publish MQTT in their vendor's own JSON. The bridge
subscribes to each mapping's topic filter, maps every payload with
``adapters.mapping`` and hands valid events to the batched Kafka sink,
invalid ones to the dead-letter topic with the reason. One payload may feed
several mappings (a combined smoke + temperature message → two events).

The bridge keeps a persistent MQTT session (``clean_session=False``) at QoS
1 by default, so readings published while it is down are delivered when it
reconnects.
"""

from __future__ import annotations

import argparse
import logging
import logging.config
import sys
import threading
from collections import Counter
from collections.abc import Callable
from typing import Any

from config.bridge import BridgeSettings, Mapping
from config.models import Settings, read_yaml
from gridwatch.adapters.mapping import Outcome, apply_parsed, decode, matches
from gridwatch.adapters.producer import KafkaSink, received_at
from gridwatch.contract import dead_letter

log = logging.getLogger(__name__)


def countdown(n: int, then: Callable[[], None]) -> Callable[[], None]:
    """A callback that runs ``then`` on its ``n``-th call (Kafka acknowledges the
    records of one MQTT message from its own thread, one by one).

    >>> calls = []
    >>> tick = countdown(2, lambda: calls.append("acked"))
    >>> tick(); calls
    []
    >>> tick(); calls
    ['acked']
    """
    left = [n]
    lock = threading.Lock()

    def tick() -> None:
        with lock:
            left[0] -= 1
            fire = left[0] == 0
        if fire:
            then()
    return tick


def route(mappings: list[Mapping], topic: str, payload: bytes) -> list[Outcome]:
    """Every outcome of one MQTT message, over all mappings whose topic and match fit."""
    from paho.mqtt.client import topic_matches_sub

    text, root, error = decode(payload)
    candidates = [m for m in mappings if topic_matches_sub(m.topic, topic)]
    if error is not None:
        stream = candidates[0].stream if len(candidates) == 1 else "mqtt"
        return [Outcome(stream, text, error=f"topic {topic}: {error}")]
    matched = [m for m in candidates if matches(m, root)]
    if not matched:
        names = ", ".join(m.name for m in candidates) or "none"
        return [Outcome("mqtt", text, error=f"topic {topic}: no mapping applies "
                        f"(topic filter or match; tried: {names})")]
    return [o for m in matched for o in apply_parsed(m, root, text, topic)]


class MqttBridge:
    """Subscribes, maps and produces; :meth:`start` / :meth:`stop` run it in the background."""

    def __init__(self, settings: Settings, bridge: BridgeSettings,
                 sink: KafkaSink | None = None) -> None:
        if not bridge.mappings:
            raise ValueError("bridge.mappings is empty: nothing to subscribe to")
        self.settings, self.bridge = settings, bridge
        self.sink = sink or KafkaSink(settings.kafka, bridge.batch_max, bridge.linger_ms)
        self.counts: Counter[str] = Counter()
        self.subscribed = threading.Event()
        self.client = self._client()

    def _client(self) -> Any:
        import paho.mqtt.client as mqtt

        cfg = self.bridge.mqtt
        client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=cfg.client_id,
                             clean_session=False)
        # Acknowledge a QoS 1/2 message only once Kafka holds what it became: a bridge
        # killed before that gets it again from the MQTT broker (at least once).
        client.manual_ack_set(True)
        if cfg.username:
            client.username_pw_set(cfg.username, cfg.password)
        if cfg.tls:
            client.tls_set(ca_certs=cfg.ca_file)
        client.on_connect = self._on_connect
        client.on_subscribe = self._on_subscribe
        client.on_message = self._on_message
        client.on_disconnect = self._on_disconnect
        return client

    def _on_connect(self, client: Any, userdata: Any, flags: Any, reason: Any,
                    properties: Any) -> None:
        if reason.is_failure:
            log.warning("MQTT connect refused: %s", reason)
            return
        filters = sorted({m.topic for m in self.bridge.mappings})
        client.subscribe([(f, self.bridge.mqtt.qos) for f in filters])
        log.info("MQTT connected, subscribing to %s", ", ".join(filters))

    def _on_disconnect(self, client: Any, userdata: Any, flags: Any, reason: Any,
                       properties: Any) -> None:
        if reason.is_failure:  # paho reconnects by itself; say so once per loss
            log.warning("MQTT connection lost (%s); reconnecting", reason)

    def _on_subscribe(self, client: Any, userdata: Any, mid: int, reasons: Any,
                      properties: Any) -> None:
        self.subscribed.set()

    def _on_message(self, client: Any, userdata: Any, msg: Any) -> None:
        mid, qos = msg.mid, msg.qos

        def ack() -> None:
            if qos > 0:
                client.ack(mid, qos)
        try:
            self.handle(msg.topic, msg.payload, ack)
        except Exception:  # an exception here would kill paho's network loop
            log.exception("could not hand a message on %s to Kafka", msg.topic)

    def handle(self, topic: str, payload: bytes,
               ack: Callable[[], None] | None = None) -> list[Outcome]:
        """Map one message and queue its events and dead letters; ``ack`` runs once
        Kafka has acknowledged every one of them."""
        outcomes = route(self.bridge.mappings, topic, payload)
        self.counts["messages"] += 1
        now = received_at(self.settings)
        done = countdown(len(outcomes), ack) if ack is not None else None
        if ack is not None and not outcomes:
            ack()
        for o in outcomes:
            if o.message is not None:
                self.sink.events(o.stream, [o.message], done)
                self.counts["accepted"] += 1
            else:
                self.sink.dead([dead_letter(o.stream, o.raw, o.error or "", now)], done)
                self.counts["rejected"] += 1
        return outcomes

    def start(self) -> None:
        cfg = self.bridge.mqtt
        self.client.connect_async(cfg.host, cfg.port, keepalive=cfg.keepalive_s)
        self.client.loop_start()

    def stop(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()
        self.sink.close()


def bridge_settings(settings: Settings, mapping_files: list[str]) -> BridgeSettings:
    """The config's ``bridge`` section plus the mappings of ``--mapping`` files."""
    base = settings.bridge or BridgeSettings()
    extra: list[Any] = []
    for path in mapping_files:
        data = read_yaml(path)
        if "mappings" not in data:
            raise ValueError(f"{path}: expected a top-level 'mappings:' list")
        extra.extend(data["mappings"])
    data = base.model_dump(mode="json")
    data["mappings"] = data["mappings"] + extra
    return BridgeSettings.model_validate(data)


def bridge_command(args: argparse.Namespace) -> int:
    """Run until Ctrl-C; prints the counts (never payloads: they may hold personal data)."""
    from pydantic import ValidationError

    from gridwatch.broker import ensure_topics
    from gridwatch.runner import StopFlag
    from streams.worker import logging_config, worker_settings

    settings = worker_settings(args.config, args.bootstrap)
    try:
        bridge = bridge_settings(settings, args.mapping or [])
        if args.mqtt:
            host, _, port = args.mqtt.partition(":")
            mqtt = bridge.mqtt.model_copy(update={"host": host, "port": int(port or 1883)})
            bridge = bridge.model_copy(update={"mqtt": mqtt})
    except (OSError, ValueError, ValidationError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if not settings.kafka.bootstrap_servers:
        print("error: the bridge needs Kafka: --bootstrap or "
              "GRIDWATCH_KAFKA__BOOTSTRAP_SERVERS", file=sys.stderr)
        return 2
    if not bridge.mappings:
        print("error: no mappings (see examples/mappings/ and docs/integrators.md)",
              file=sys.stderr)
        return 2
    logging.config.dictConfig(logging_config())  # counts only, never payloads
    ensure_topics(settings)
    stop = StopFlag()
    stop.install()
    runner = MqttBridge(settings, bridge)
    runner.start()
    while not stop.event.wait(10.0):
        log.info("bridge: %s, Kafka errors %d", dict(runner.counts), len(runner.sink.errors))
    runner.stop()
    print(f"bridge stopped ({stop.reason}): {dict(runner.counts)}")
    for error in runner.sink.errors[:5]:
        print(f"error: Kafka refused: {error}", file=sys.stderr)
    return 1 if runner.sink.errors else 0

