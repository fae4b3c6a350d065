"""``gridwatch run`` shows the board: read its URL from the worker's log, print it, open it.

The worker may pick a free port (``board_port: 0``) or find its port taken,
so the URL is taken from the worker's own "board on …" log line rather than
guessed. A browser is opened only where there is a desktop to show it: on a
server ``webbrowser`` would start a text browser in the terminal we print
alerts to. ``GRIDWATCH_NO_BROWSER=1`` turns it off everywhere.
"""

from __future__ import annotations

import os
import re
import sys
import threading
import webbrowser
from collections.abc import Callable
from pathlib import Path

BOARD_LINE = re.compile(r"board on (http://[^\s\"]+)")


def board_url(log_path: Path) -> str | None:
    """The board's URL if the worker has logged it yet."""
    try:
        found = BOARD_LINE.search(log_path.read_text(errors="replace"))
    except OSError:
        return None
    return found.group(1) if found else None


def has_desktop() -> bool:
    if os.environ.get("GRIDWATCH_NO_BROWSER"):
        return False
    return sys.platform in ("darwin", "win32") or bool(
        os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


def announce_board(log_path: Path, stop: threading.Event, timeout_s: float = 120.0,
                   opener: Callable[[str], object] = webbrowser.open) -> threading.Thread:
    """In a daemon thread: wait for the URL, print it, open it if there is a desktop."""
    def run() -> None:
        waited = 0.0
        while not stop.is_set() and waited < timeout_s:
            url = board_url(log_path)
            if url:
                print(f"live board: {url}  (?lang=en for English)", flush=True)
                if has_desktop():
                    opener(url)
                return
            stop.wait(0.5)
            waited += 0.5

    thread = threading.Thread(target=run, name="board-announce", daemon=True)
    thread.start()
    return thread
