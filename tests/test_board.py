"""The board's state: deduplication, open episodes, drill-down, counts over 24 hours."""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path

import aiohttp
import pytest
from boardfeed import alert, feed, registry

from sinks.board.launch import announce_board, board_url
from sinks.board.server import Board, start
from sinks.board.state import BoardState


def board_state() -> BoardState:
    state = BoardState(registry().grids)
    for update in feed():
        state.apply(update)
    return state


def test_open_episodes_are_firing_ones_deduplicated_most_urgent_first() -> None:
    view = board_state().view()
    assert view["open"] == {"red": 0, "orange": 2, "yellow": 3, "blue": 1}
    assert [a["alert_id"] for a in view["episodes"]][:2] == ["gw-0006", "gw-0001"]
    assert len(view["recent"]) == 8  # the redelivered update is not shown twice
    assert view["recent"][0]["status"] == "resolved"


def test_drill_down_follows_the_grid_hierarchy() -> None:
    state = board_state()
    assert [c["id"] for c in state.view()["children"]] == ["daqing"]
    districts = state.view(("daqing",))["children"]
    assert [(c["id"], c["total"]) for c in districts] == [("d-1", 4), ("d-2", 2)]
    grids = state.view(("daqing", "d-1", "s-1", "c-01"))
    assert grids["child_level"] == "grid"
    assert {c["id"]: c["name"] for c in grids["children"]} == {
        "grid-0101": "东风新村一网格", "grid-0102": "东风新村二网格"}
    street2 = state.view(("daqing", "d-1", "s-2"))
    assert [a["kind"] for a in street2["recent"]] == ["crowd"]


def test_counts_per_kind_cover_the_last_24_hours_of_event_time() -> None:
    state = board_state()
    kinds = state.view()["kinds"]
    assert sum(kinds["sensor_threshold"]) == 1  # new episodes, not updates
    assert kinds["no_usage"][-1] == 1 and kinds["stay_in"][-1 - 6] == 1
    state.apply(alert(9, "crowd", "blue", "grid-0201", 23, "…"))
    state.apply({**alert(10, "crowd", "blue", "grid-0201", 0, "…"),
                 "ts": "2026-11-23T07:00:00+08:00"})
    kinds = state.view()["kinds"]
    assert "stay_in" not in kinds  # 06:00 of the day before fell out of the window
    assert sum(kinds["crowd"]) == 3


async def test_the_server_sends_state_and_a_server_sent_event_per_new_alert() -> None:
    board = Board(board_state(), lambda: {"detectors": []})
    runner, url = await start(board, "127.0.0.1", 0)
    try:
        async with aiohttp.ClientSession() as http:
            async with http.get(url + "api/state?scope=daqing/d-2") as res:
                view = await res.json()
            assert view["open"]["orange"] == 1 and "health" in view
            async with http.get(url) as res:
                assert "board.js" in await res.text()
            async with http.get(url + "static/..%2Fstate.py") as res:
                assert res.status == 404
            async with http.get(url + "api/events") as events:
                await events.content.readline()  # retry: …
                await events.content.readline()
                assert board.publish(alert(11, "crowd", "red", "grid-0201", 13, "聚集"))
                line = await asyncio.wait_for(events.content.readline(), 5)
                assert line == b"event: alert\n"
                assert b'"gw-0011"' in await events.content.readline()
    finally:
        await runner.cleanup()


@pytest.mark.parametrize("bad", [b"{oops", b"[1]", b'{"no": "id"}', None])
def test_a_message_that_is_not_an_alert_is_skipped(bad: bytes | None) -> None:
    board = Board(BoardState())
    assert board.apply_raw(b"k", bad, None) is None  # type: ignore[arg-type]
    assert board.state.version == 0


def test_gridwatch_run_finds_the_board_url_in_the_json_log_and_opens_it(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    log = tmp_path / "worker.log"
    log.write_text('{"ts":"…","level":"INFO","logger":"streams.observe",'
                   '"msg":"board on http://localhost:8464/","worker":"w-1"}\n')
    assert board_url(log) == "http://localhost:8464/"
    opened: list[str] = []
    monkeypatch.setenv("DISPLAY", ":0")
    monkeypatch.delenv("GRIDWATCH_NO_BROWSER", raising=False)
    announce_board(log, threading.Event(), opener=opened.append).join(5)
    assert opened == ["http://localhost:8464/"]
    assert "live board: http://localhost:8464/" in capsys.readouterr().out
    monkeypatch.delenv("DISPLAY")
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    announce_board(log, threading.Event(), opener=opened.append).join(5)
    assert len(opened) == 1  # no desktop: printed only


def test_the_dedup_memory_is_bounded_but_keeps_open_episodes(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("sinks.board.state.SEEN_MAX", 3)
    state = BoardState()
    state.apply(alert(1, "crowd", "red", "grid-0201", 8, "…"))
    for n in range(2, 7):
        state.apply(alert(n, "crowd", "blue", "grid-0201", 8, "…"))
        state.apply(alert(n, "crowd", "blue", "grid-0201", 9, "…", status="resolved", seq=2))
    assert len(state.seen) == 3 and "gw-0001" in state.seen
    assert not state.apply(alert(1, "crowd", "red", "grid-0201", 8, "…"))
