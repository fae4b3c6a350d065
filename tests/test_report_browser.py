"""The backtest and sweep reports open in headless Chromium without errors.

Operators open these files straight from disk, with no network: a page that
throws, or references a resource that does not load, is a broken report.
Skipped, with the reason, when Chromium is not installed (CI installs it).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from chromium import Chromium, chromium_path
from test_tune import DATA, gas_city

from gridwatch.cli import main

pytestmark = pytest.mark.skipif(chromium_path() is None,
                                reason="chromium is not installed (apt-get install chromium)")

# Installed before any script of the page runs: collects script errors, failed
# resources (capture phase) and console.error calls.
COLLECT = """
window.__errors = [];
window.addEventListener('error', e => window.__errors.push(
    e.message || ('failed to load ' + (e.target && (e.target.src || e.target.href)))), true);
const __ce = console.error;
console.error = (...a) => { window.__errors.push(a.join(' ')); __ce(...a); };
"""


async def open_page(browser: Chromium, path: Path) -> None:
    await browser.call("Page.addScriptToEvaluateOnNewDocument", source=COLLECT)
    await browser.goto(path.resolve().as_uri())
    await browser.wait_for("document.readyState === 'complete'")


async def test_the_backtest_report_opens_without_errors_and_shows_its_charts(
        tmp_path: Path) -> None:
    feed, truth = gas_city(tmp_path)
    assert main(["replay", str(feed), "--registry", str(DATA / "registry"), "--out",
                 str(tmp_path / "alerts.jsonl"), "--report", str(tmp_path / "rep"),
                 "--truth", str(truth)]) == 0
    async with Chromium(tmp_path / "profile") as browser:
        await open_page(browser, tmp_path / "rep" / "index.html")
        assert await browser.js("window.__errors") == []
        assert await browser.js("document.querySelectorAll('svg').length") >= 1
        assert "sensor_threshold" in await browser.js("document.body.innerText")
        await browser.screenshot(tmp_path / "report.png")


async def test_the_sweep_report_opens_without_errors(tmp_path: Path) -> None:
    feed, truth = gas_city(tmp_path)
    assert main(["tune", str(feed), "--registry", str(DATA / "registry"), "--out",
                 str(tmp_path / "sweep"), "--truth", str(truth), "--kind", "sensor_threshold",
                 "--param", "detectors.sensor_threshold.rules.1.limit=10,20,40",
                 "--workers", "1"]) == 0
    async with Chromium(tmp_path / "profile") as browser:
        await open_page(browser, tmp_path / "sweep" / "index.html")
        assert await browser.js("window.__errors") == []
        assert await browser.js("document.querySelectorAll('svg').length") >= 1
