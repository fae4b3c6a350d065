"""``gridwatch run``: broker, worker and simulated city in one command, stopped cleanly.

The first run stops by ``--duration``; the second, in the same workdir (the
city is reused, the broker is a new one), by Ctrl-C once alerts show. Both must exit 0 without a
traceback and leave nothing running.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

pytestmark = pytest.mark.e2e
ALERT_LINE = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d  (BLUE|YELLOW|ORANGE|RED)\s+[a-z_]+\s+"
                        r"(firing|resolved)\s+\S+\s+\S", re.M)
CITY = ["--persons", "300", "--days", "7", "--speed", "40000"]


def gridwatch(*args: str) -> list[str]:
    return [sys.executable, "-m", "gridwatch.cli", *args]


def worker_stopped(workdir: Path) -> bool:
    return "worker stopped" in (workdir / "worker.log").read_text(errors="replace")


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Shared by both runs: the second reuses the city the first simulated."""
    return tmp_path_factory.mktemp("run")


def test_run_for_a_duration_prints_alerts_and_stops_cleanly(workdir: Path) -> None:
    done = subprocess.run(gridwatch("run", "--duration", "40", "--workdir", str(workdir),
                                    *CITY), capture_output=True, text=True, timeout=120)
    out = done.stdout + done.stderr
    assert done.returncode == 0, out
    assert "Traceback" not in out
    assert len(ALERT_LINE.findall(done.stdout)) >= 3, out
    assert "stopping (40 s elapsed)" in done.stdout
    assert "simulated city" in done.stdout
    assert worker_stopped(workdir)


@contextlib.contextmanager
def run_until_an_alert(workdir: Path) -> Iterator[tuple[subprocess.Popen[str], list[str]]]:
    """``gridwatch run`` in the background, its output collected, once it has printed an
    alert line; killed on the way out if the test left it running."""
    proc = subprocess.Popen(gridwatch("run", "--workdir", str(workdir), *CITY),
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    lines: list[str] = []
    seen_alert = threading.Event()

    def read() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            lines.append(line)
            if ALERT_LINE.match(line):
                seen_alert.set()

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    try:
        assert seen_alert.wait(90), "".join(lines)
        yield proc, lines
    finally:
        if proc.poll() is None:
            proc.kill()
        reader.join(5)


def test_a_second_run_works_and_ctrl_c_stops_everything(workdir: Path) -> None:
    with run_until_an_alert(workdir) as (proc, lines):
        proc.send_signal(signal.SIGINT)
        assert proc.wait(45) == 0, "".join(lines)
    out = "".join(lines)
    assert "stopping (interrupted)" in out and "Traceback" not in out, out
    assert "simulated city" not in out  # reused from the first run
    assert worker_stopped(workdir)
    bootstrap = re.search(r"embedded broker on (\S+)", out)
    assert bootstrap is not None
    host, port = bootstrap.group(1).rsplit(":", 1)
    time.sleep(0.2)
    import socket

    with socket.socket() as s:
        assert s.connect_ex((host, int(port))) != 0, "the broker is still listening"


def _children(pid: int) -> dict[int, str]:
    """A process's children and their command lines (Linux ``/proc``)."""
    kids = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    return {int(k): Path(f"/proc/{k}/cmdline").read_bytes().replace(b"\0", b" ").decode()
            for k in kids}


def test_a_broker_that_dies_stops_the_run_with_an_error_and_its_log(workdir: Path) -> None:
    """Without its broker nothing flows: the run must say so and stop, not go on
    printing status lines (it did, for minutes, until this test)."""
    with run_until_an_alert(workdir) as (proc, lines):
        kids = _children(proc.pid)
        broker = [pid for pid, cmd in kids.items() if "--listener-url" in cmd]
        worker = [pid for pid, cmd in kids.items() if "gridwatch.cli worker" in cmd]
        assert len(broker) == 1 and len(worker) == 1, kids
        os.kill(broker[0], signal.SIGKILL)
        assert proc.wait(20) == 1, "".join(lines)
    out = "".join(lines)
    assert "error: the embedded broker exited with code -9" in out, out
    assert "stopping (the embedded broker exited with code -9) after" in out, out
    assert "broker.log" in out and "Traceback" not in out, out
    with pytest.raises(ProcessLookupError):
        os.kill(worker[0], 0)  # stopped (and reaped) with the run
