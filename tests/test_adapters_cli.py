"""The adapters' commands: config merging and the errors a user sees before any I/O."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import orjson
import pytest
import yaml

from config.models import Settings, load_settings
from gridwatch.adapters.mqtt import bridge_settings
from gridwatch.cli import main

EXAMPLES = Path(__file__).parent.parent / "examples" / "mappings"
SMOKE = str(EXAMPLES / "acmesense-smoke-gas.yaml")


def test_mapping_files_add_to_the_configured_bridge_section() -> None:
    settings = Settings(bridge={"linger_ms": 10, "mappings": [
        {"name": "own", "stream": "report", "fields": {
            "ts": "t", "grid_id": "g", "category": "c", "source": {"const": "system"}}}]})
    bridge = bridge_settings(settings, [SMOKE])
    assert [m.name for m in bridge.mappings] == ["own", "acmesense-smoke", "acmesense-gas"]
    assert bridge.linger_ms == 10


def test_a_mapping_file_without_mappings_is_refused(tmp_path: Path) -> None:
    bad = tmp_path / "m.yaml"
    bad.write_text("name: x\n")
    with pytest.raises(ValueError, match="expected a top-level 'mappings:' list"):
        bridge_settings(Settings(), [str(bad)])


def test_config_check_validates_the_bridge_section(tmp_path: Path,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    cfg = tmp_path / "c.yaml"
    data = yaml.safe_load(Path(SMOKE).read_text(encoding="utf-8"))
    cfg.write_text(yaml.safe_dump({"bridge": data}), encoding="utf-8")
    assert main(["config", "check", str(cfg)]) == 0
    data["mappings"][0]["fields"]["value"]["scale"] = "lots"
    cfg.write_text(yaml.safe_dump({"bridge": data}), encoding="utf-8")
    assert main(["config", "check", str(cfg)]) == 1
    assert "bridge.mappings.0.fields.value.scale" in capsys.readouterr().out


@pytest.mark.parametrize(("argv", "message"), [
    (["bridge", "mqtt", "--mapping", SMOKE], "needs Kafka"),
    (["bridge", "mqtt", "--bootstrap", "127.0.0.1:1"], "no mappings"),
    (["import", "--bootstrap", "127.0.0.1:1"], "either FILE"),
    (["import", "x.csv", "--bootstrap", "127.0.0.1:1"], "needs --stream"),
    (["ingest", "http"], "needs Kafka"),
])
def test_commands_explain_what_is_missing(argv: list[str], message: str,
                                          monkeypatch: pytest.MonkeyPatch,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.delenv("GRIDWATCH_KAFKA__BOOTSTRAP_SERVERS", raising=False)
    assert main(argv) == 2
    assert message in capsys.readouterr().err


class FakeSink:
    def __init__(self) -> None:
        self.sent: list[tuple[str, dict[str, Any]]] = []
        self.letters: list[dict[str, Any]] = []

    def events(self, stream: str, items: list[dict[str, Any]]) -> None:
        self.sent.extend((stream, i) for i in items)

    def dead(self, letters: list[dict[str, Any]]) -> None:
        self.letters.extend(letters)


def test_import_counts_every_row_and_draws_progress(tmp_path: Path) -> None:
    from gridwatch.adapters.importer import import_file
    from gridwatch.progress import Progress

    path = tmp_path / "access.jsonl"
    good = {"event_id": "a-1", "ts": "2026-11-22T07:31:05+08:00", "gate_id": "g",
            "direction": "out", "method": "card"}
    path.write_text(f"{orjson.dumps(good).decode()}\n\n[1, 2]\n"
                    f"{orjson.dumps({**good, 'method': 'iris'}).decode()}\n", encoding="utf-8")
    out = io.StringIO()
    sink = FakeSink()
    progress = Progress(path.stat().st_size, "import", stream=out, enabled=True)
    counts = import_file(path, "access", Settings(), sink, progress=progress)  # type: ignore[arg-type]
    progress.close()
    assert counts == {"accepted": 1, "rejected": 2}
    assert [i["event_id"] for _, i in sink.sent] == ["a-1"]
    assert [d["error"].split(":")[0] for d in sink.letters] == ["access.jsonl line 3",
                                                              "access.jsonl line 4"]
    assert "method: must be" in sink.letters[1]["error"] and "100.0%" in out.getvalue()


class Future:
    """The part of a kafka-python send future the sink uses, settled by the test."""

    def __init__(self) -> None:
        self.ok: list[Any] = []
        self.bad: list[Any] = []

    def add_callback(self, f: Any) -> None:
        self.ok.append(f)

    def add_errback(self, f: Any) -> None:
        self.bad.append(f)


class HeldProducer:
    def __init__(self) -> None:
        self.sent: list[tuple[str, Future]] = []

    def send(self, topic: str, key: bytes | None = None, value: bytes | None = None) -> Future:
        self.sent.append((topic, Future()))
        return self.sent[-1][1]

    def flush(self, timeout: float | None = None) -> None:
        pass

    def close(self, timeout: float | None = None) -> None:
        pass


def test_an_mqtt_message_is_acknowledged_only_once_kafka_holds_all_it_became() -> None:
    from gridwatch.adapters.mqtt import MqttBridge
    from gridwatch.adapters.producer import KafkaSink

    settings = load_settings()
    bridge = bridge_settings(settings, [str(Path(__file__).parents[1] / "examples" /
                                            "mappings" / "acmesense-smoke-gas.yaml")])
    producer = HeldProducer()
    sink = KafkaSink(settings.kafka, batch_max=1, linger_ms=10_000, producer=producer)
    runner = MqttBridge(settings, bridge, sink)
    acks: list[str] = []
    smoke = orjson.dumps({"sn": "AS1", "type": "smoke", "state": "ALARM", "ts": 1763767865123})
    runner.handle("acmesense/d/AS1/event", smoke, lambda: acks.append("good"))
    runner.handle("acmesense/d/AS1/event", b"{not json", lambda: acks.append("bad"))
    (_, good), (_, bad) = producer.sent
    assert acks == []                       # nothing acknowledged before Kafka answers
    bad.ok[0](None)
    assert acks == ["bad"]                  # a dead letter kept is a message handled
    good.bad[0](RuntimeError("broker down"))
    assert acks == ["bad"]                  # a failed send is never acknowledged
    good.ok[0](None)
    assert acks == ["bad", "good"]
    sink._stop.set()
