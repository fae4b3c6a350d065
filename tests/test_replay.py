"""`gridwatch replay` as the contract describes it."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest

from gridwatch.cli import main
from gridwatch.contract import Alert, DeadLetter

DATA = Path(__file__).parent / "data"


def run(tmp_path: Path, name: str, *feeds: Path) -> Path:
    out = tmp_path / name
    code = main(["replay", *map(str, feeds), "--registry", str(DATA / "registry"),
                 "--out", str(out)])
    assert code == 0
    return out


def test_replay_writes_contract_alerts_and_dead_letters(tmp_path: Path) -> None:
    out = run(tmp_path, "alerts.jsonl", DATA / "feed.jsonl")
    alerts = [orjson.loads(x) for x in out.read_bytes().splitlines()]
    assert len(alerts) == 6
    for a in alerts:
        Alert.model_validate(a)
    dead = [orjson.loads(x) for x in (tmp_path / "alerts.deadletter.jsonl").read_bytes()
            .splitlines()]
    assert [d["error"].split(":")[0] for d in dead] == ["direction", "line"]
    for d in dead:
        DeadLetter.model_validate(d)


def test_replay_is_identical_on_a_second_run(tmp_path: Path) -> None:
    a = run(tmp_path, "a.jsonl", DATA / "feed.jsonl").read_bytes()
    b = run(tmp_path, "b.jsonl", DATA / "feed.jsonl").read_bytes()
    assert a == b and a


def test_several_feeds_are_merged_in_event_time(tmp_path: Path) -> None:
    lines = (DATA / "feed.jsonl").read_bytes().splitlines()
    iot = tmp_path / "iot.jsonl"
    rest = tmp_path / "rest.jsonl"
    iot.write_bytes(b"\n".join(x for x in lines if b'"iot"' in x) + b"\n")
    rest.write_bytes(b"\n".join(x for x in lines if b'"iot"' not in x) + b"\n")
    merged = run(tmp_path, "m.jsonl", rest, iot).read_bytes()
    single = run(tmp_path, "s.jsonl", DATA / "feed.jsonl").read_bytes()
    assert merged == single


def test_a_feed_written_with_a_byte_order_mark_and_crlf_replays_as_the_plain_one(
        tmp_path: Path) -> None:
    """Windows tools start a UTF-8 file with a BOM and end lines with CRLF; RFC 8259 lets a
    reader ignore the mark, and its first line is no bad line."""
    plain = (DATA / "feed.jsonl").read_bytes()
    windows = tmp_path / "windows.jsonl"
    windows.write_bytes(b"\xef\xbb\xbf" + plain.replace(b"\n", b"\r\n"))
    assert run(tmp_path, "w.jsonl", windows).read_bytes() == \
        run(tmp_path, "p.jsonl", DATA / "feed.jsonl").read_bytes()
    assert (tmp_path / "w.deadletter.jsonl").read_bytes().count(b"\n") == \
        (tmp_path / "p.deadletter.jsonl").read_bytes().count(b"\n")


def test_schema_command_writes_every_schema(tmp_path: Path,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["schema", "--out", str(tmp_path)]) == 0
    names = sorted(p.name for p in tmp_path.iterdir())
    assert "alert.schema.json" in names and "registry.persons.schema.json" in names
    schema = orjson.loads((tmp_path / "access.schema.json").read_bytes())
    assert set(schema["required"]) == {"event_id", "ts", "gate_id", "direction", "method"}


def test_parsing_in_a_child_process_gives_the_same_output(tmp_path: Path) -> None:
    """Big feeds are parsed in a second process: same alerts, dead letters and order."""
    from config.models import load_settings
    from gridwatch.registry import Registry
    from gridwatch.replay import deadletter_path, replay

    lines = (DATA / "feed.jsonl").read_bytes().splitlines()
    feed = tmp_path / "feed.jsonl"  # bad lines first, between and last: where they fall
    feed.write_bytes(b"\n".join([b"{", *lines[:5], b"", b'{"stream": ["iot"]}', *lines[5:],
                                 b"null"]) + b"\n")
    registry, settings = Registry.from_dir(DATA / "registry"), load_settings(None)
    out: dict[bool, tuple[bytes, list[dict[str, object]]]] = {}
    for in_child in (False, True):
        path = tmp_path / f"alerts-{in_child}.jsonl"
        result = replay([feed, DATA / "feed.jsonl"], registry, settings, path,
                        show_progress=False, parallel_parse=in_child)
        assert result.bad_lines == 2 * 2 + 3
        dead = [orjson.loads(x) for x in deadletter_path(path).read_bytes().splitlines()]
        out[in_child] = path.read_bytes(), [{**d, "received_at": ""} for d in dead]
    assert out[True] == out[False] and out[True][0]
