"""The live board in headless Chromium: loads, shows a known feed, updates live, drills down.

The board server runs in the test's event loop with a known feed applied;
Chromium (Debian's ``chromium``) is driven over the DevTools protocol. The
run saves a screenshot under the pytest tmp dir and as ``docs/board.png``
for review. Skipped, with the reason, when Chromium is not installed (CI
installs it in ``.ci/run``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from boardfeed import alert, feed, registry
from chromium import Chromium, chromium_path

from sinks.board.server import Board, start
from sinks.board.state import BoardState

pytestmark = pytest.mark.skipif(chromium_path() is None,
                                reason="chromium is not installed (apt-get install chromium)")
DOCS = Path(__file__).parent.parent / "docs"
RECENT_IDS = "[...document.querySelectorAll('#recent li[data-alert-id]')]" \
             ".map(e => e.dataset.alertId + '/' + e.dataset.seq)"
HEALTH = {"detectors": [{"name": "presence", "us_per_event": 3.2,
                         "last_alert": "2026-11-22T11:00:00+08:00"},
                        {"name": "sensor_threshold", "us_per_event": 0.4,
                         "last_alert": "2026-11-22T12:00:00+08:00"}],
          "watermark_lag_s": 4.0, "partitions": [0, 1]}


def known_board() -> Board:
    state = BoardState(registry().grids)
    board = Board(state, lambda: HEALTH)
    for update in feed():
        board.publish(update)
    return board


async def test_the_board_shows_the_feed_and_updates_when_an_alert_arrives(
        tmp_path: Path) -> None:
    board = known_board()
    runner, url = await start(board, "127.0.0.1", 0)
    try:
        async with Chromium(tmp_path / "profile") as browser:
            await browser.goto(url + "#daqing")
            await browser.wait_for("document.querySelector('#live.on') !== null")
            await browser.wait_for(f"{RECENT_IDS}.length === 8")
            assert (await browser.js(RECENT_IDS))[0] == "gw-0002/2"
            assert await browser.js("document.title") == "网格风险态势 · 一屏统览"
            text = await browser.js("document.body.innerText")
            assert "独居老人 p-00001 进入后 36 小时未出门" in text and "hours=36" in text
            assert await browser.js(
                "document.querySelector('.tile.orange .n').textContent") == "2"
            assert await browser.js("document.querySelectorAll('#kinds svg').length") == 7
            assert await browser.js("document.querySelectorAll('#health tr').length") == 4
            assert await browser.js("[...document.querySelectorAll('.child')]"
                                    ".map(e => e.dataset.id).join()") == "d-1,d-2"
            await browser.screenshot(tmp_path / "board.png", DOCS / "board.png")

            board.publish(alert(12, "event_cluster", "red", "grid-0201", 13,
                                "网格 grid-0201 一小时内 5 起火灾隐患上报", reports=5))
            await browser.wait_for(f"{RECENT_IDS}[0] === 'gw-0012/1'")
            assert await browser.js(
                "document.querySelector('.tile.red .n').textContent") == "1"
            await browser.screenshot(tmp_path / "board-updated.png")
    finally:
        await runner.cleanup()


async def test_drill_down_and_english_labels(tmp_path: Path) -> None:
    board = known_board()
    runner, url = await start(board, "127.0.0.1", 0)
    try:
        async with Chromium(tmp_path / "profile") as browser:
            await browser.goto(url + "?lang=en")
            await browser.wait_for("document.title === 'Grid risk board'")
            for node in ("daqing", "d-2"):
                button = f"document.querySelector('.child[data-id=\"{node}\"]')"
                await browser.wait_for(f"{button} !== null")
                await browser.js(f"{button}.click()")
            await browser.wait_for("location.hash === '#daqing/d-2'")
            await browser.wait_for(f"{RECENT_IDS}.join() === 'gw-0006/1,gw-0005/1'")
            crumbs = await browser.js("document.getElementById('crumbs').innerText")
            assert "City daqing" in crumbs and "District d-2" in crumbs
            assert "Long absent" in await browser.js("document.body.innerText")
            await browser.screenshot(tmp_path / "board-en-district.png")
    finally:
        await runner.cleanup()


async def test_a_late_answer_for_a_view_left_behind_is_not_drawn(tmp_path: Path) -> None:
    """Two clicks down the hierarchy send two requests; when the city's view comes back
    after the district's (held here for a second), the page must stay on the district."""
    import asyncio

    from aiohttp import web

    from sinks.board.server import make_app

    @web.middleware
    async def slow_city(request: web.Request, handler: Any) -> web.StreamResponse:
        if request.path == "/api/state" and request.query.get("scope") == "daqing":
            await asyncio.sleep(1.0)
        return await handler(request)

    app = make_app(known_board())
    app.middlewares.append(slow_city)
    runner = web.AppRunner(app, handle_signals=False, shutdown_timeout=1.0)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    url = f"http://127.0.0.1:{runner.addresses[0][1]}/"
    try:
        async with Chromium(tmp_path / "profile") as browser:
            await browser.goto(url + "?lang=en#daqing/d-2")
            await browser.wait_for(f"{RECENT_IDS}.join() === 'gw-0006/1,gw-0005/1'")
            await browser.js("location.hash = '#daqing'")  # slow: answered in a second
            await browser.js("location.hash = '#daqing/d-2'")  # answered at once
            await asyncio.sleep(1.5)
            assert await browser.js(f"{RECENT_IDS}.join()") == "gw-0006/1,gw-0005/1"
            assert "District d-2" in await browser.js(
                "document.getElementById('crumbs').innerText")
    finally:
        await runner.cleanup()
