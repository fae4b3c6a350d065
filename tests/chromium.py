"""A headless Chromium driven over the DevTools protocol, with aiohttp's websocket client.

Why not selenium or playwright: both need a driver or a browser download
(no internet here), and aiohttp is already installed; the protocol calls a
board test needs are five (navigate, evaluate, screenshot, a viewport, enable).
"""

from __future__ import annotations

import asyncio
import base64
import itertools
import shutil
import subprocess
import time
from pathlib import Path
from typing import Any

import aiohttp

FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run",
         "--disable-default-apps", "--disable-extensions", "--hide-scrollbars",
         "--remote-debugging-port=0", "--remote-allow-origins=*"]


def chromium_path() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


class Chromium:
    """One browser with a fresh profile in ``profile``; ``async with`` it."""

    def __init__(self, profile: Path, width: int = 1440, height: int = 1180) -> None:
        self.profile = profile
        self.size = (width, height)
        self.proc: subprocess.Popen[bytes] | None = None
        self.session: aiohttp.ClientSession | None = None
        self.ws: Any = None
        self.ids = itertools.count(1)

    async def __aenter__(self) -> Chromium:
        binary = chromium_path()
        assert binary, "chromium is not installed"
        self.proc = subprocess.Popen(
            [binary, *FLAGS, f"--user-data-dir={self.profile}",
             f"--window-size={self.size[0]},{self.size[1]}", "about:blank"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        port = await self._port()
        self.session = aiohttp.ClientSession()
        async with self.session.get(f"http://127.0.0.1:{port}/json/list") as res:
            pages = [t for t in await res.json() if t["type"] == "page"]
        self.ws = await self.session.ws_connect(pages[0]["webSocketDebuggerUrl"], max_msg_size=0)
        await self.call("Page.enable")
        await self.call("Emulation.setDeviceMetricsOverride", width=self.size[0],
                        height=self.size[1], deviceScaleFactor=1, mobile=False)
        return self

    async def _port(self, timeout_s: float = 20.0) -> int:
        """The port Chromium chose, from the ``DevToolsActivePort`` file of its profile."""
        marker = self.profile / "DevToolsActivePort"
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if marker.exists() and marker.read_text().strip():
                return int(marker.read_text().split()[0])
            assert self.proc is not None and self.proc.poll() is None, "chromium exited"
            await asyncio.sleep(0.1)
        raise TimeoutError("chromium did not open its DevTools port")

    async def __aexit__(self, *exc: object) -> None:
        if self.ws is not None:
            await self.ws.close()
        if self.session is not None:
            await self.session.close()
        if self.proc is not None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()

    async def call(self, method: str, **params: Any) -> dict[str, Any]:
        """One protocol command; events arriving meanwhile are skipped."""
        n = next(self.ids)
        await self.ws.send_json({"id": n, "method": method, "params": params})
        while True:
            msg = await asyncio.wait_for(self.ws.receive_json(), 30)
            if msg.get("id") == n:
                assert "error" not in msg, msg["error"]
                return dict(msg.get("result", {}))

    async def goto(self, url: str) -> None:
        await self.call("Page.navigate", url=url)

    async def js(self, expression: str) -> Any:
        result = await self.call("Runtime.evaluate", expression=expression,
                                 returnByValue=True, awaitPromise=True)
        return result.get("result", {}).get("value")

    async def wait_for(self, expression: str, timeout_s: float = 15.0) -> Any:
        """Poll a JS expression until it is truthy; fail with its last value."""
        deadline = time.monotonic() + timeout_s
        value = None
        while time.monotonic() < deadline:
            value = await self.js(expression)
            if value:
                return value
            await asyncio.sleep(0.1)
        raise AssertionError(f"not true within {timeout_s}s: {expression} (last {value!r})")

    async def screenshot(self, *paths: Path) -> bytes:
        data = base64.b64decode((await self.call("Page.captureScreenshot",
                                                 format="png"))["data"])
        for path in paths:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)
        return data
