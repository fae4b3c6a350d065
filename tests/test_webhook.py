"""Notify stage without Kafka: webhook statuses, retries and backoff, dead letters, file sink."""

from __future__ import annotations

from datetime import timedelta, timezone
from pathlib import Path
from typing import Any

import orjson
import pytest
from webhookd import Receiver

from config.alerts import FileSink, Match, Retry, WebhookSink
from sinks.notify.exceptions import DeliveryError
from sinks.notify.file import FileNotifier
from sinks.notify.retry import backoff, deliver
from sinks.notify.stage import SinkStage
from sinks.notify.webhook import WebhookNotifier, idempotency_key, retry_after

TZ = timezone(timedelta(hours=8))
FAST = Retry(max_attempts=5, initial_backoff_s=0.01, max_backoff_s=0.05, give_up_after_s=5)


def alert(n: int, grid: str = "g-1", severity: str = "orange", seq: int = 1) -> dict[str, Any]:
    return {"alert_id": f"gw-{n}", "seq": seq, "kind": "stay_in", "status": "firing",
            "severity": severity, "subject": {"type": "person", "id": f"p-{n}"},
            "grid": {"grid_id": grid, "street_id": "s-1"},
            "routes": [{"to": "grid_worker", "id": "w-1"}]
            + ([{"to": "street", "id": "s-1", "route": "red"}] if severity == "red" else [])}


class Dead(list[tuple[bytes, dict[str, Any]]]):
    def __call__(self, key: bytes, value: bytes) -> None:
        self.append((key, orjson.loads(value)))


def stage(config: WebhookSink | FileSink, dead: Dead) -> SinkStage:
    notifier = WebhookNotifier(config) if isinstance(config, WebhookSink) \
        else FileNotifier(config)
    return SinkStage(config, notifier, dead, lambda s: False, TZ)


def values(*alerts: dict[str, Any]) -> list[bytes]:
    return [orjson.dumps(a) for a in alerts]


STATUS_CASES = [
    # name, statuses answered, delivered?, attempts
    ("2xx is delivered", [200], True, 1),
    ("202 too", [202], True, 1),
    ("503 is retried until it recovers", [503, 503, 200], True, 3),
    ("429 is retried", [429, 200], True, 2),
    ("408 is retried", [408, 204], True, 2),
    ("400 is not recoverable: no retry", [400, 200], False, 1),
    ("404 neither", [404], False, 1),
    ("a receiver down for good exhausts the attempts", [500] * 10, False, 5),
]


@pytest.mark.parametrize(("script", "ok", "attempts"), [c[1:] for c in STATUS_CASES],
                         ids=[c[0] for c in STATUS_CASES])
def test_webhook_statuses(script: list[int], ok: bool, attempts: int) -> None:
    with Receiver(script) as rx:
        notifier = WebhookNotifier(WebhookSink(name="w", url=rx.url, retry=FAST))
        outcome = deliver(notifier, [alert(1)], FAST, lambda s: False)
        assert (outcome.ok, outcome.attempts) == (ok, attempts)
        assert len(rx.requests) == attempts


def test_webhook_envelope_and_headers() -> None:
    with Receiver() as rx:
        cfg = WebhookSink(name="centre", url=rx.url, headers={"Authorization": "Bearer t"})
        batch = [alert(1), alert(2)]
        WebhookNotifier(cfg).notify(batch)
        [(_, headers, body)] = rx.requests
    assert body == {"version": "1", "receiver": "centre", "grid_id": "g-1", "alerts": batch}
    assert headers["Authorization"] == "Bearer t"
    assert headers["Idempotency-Key"] == idempotency_key(batch)


def test_connection_refused_is_recoverable() -> None:
    with Receiver() as rx:
        url = rx.url
    with pytest.raises(DeliveryError) as err:
        WebhookNotifier(WebhookSink(name="w", url=url, timeout_s=2)).notify([alert(1)])
    assert err.value.recoverable


def test_retry_after_is_honoured_within_the_cap() -> None:
    with Receiver([503], headers={"Retry-After": "7"}) as rx:
        waits: list[float] = []
        retry = Retry(initial_backoff_s=0.01, max_backoff_s=10)
        outcome = deliver(WebhookNotifier(WebhookSink(name="w", url=rx.url)), [alert(1)], retry,
                          lambda s: waits.append(s) or False)
    assert outcome.ok and waits == [7.0]
    assert retry_after("3.5") == 3.5 and retry_after("soon") is None


def test_backoff_grows_and_is_capped_and_the_budget_gives_up() -> None:
    retry = Retry(max_attempts=100, initial_backoff_s=1, multiplier=3, max_backoff_s=20,
                  give_up_after_s=60)
    assert [backoff(retry, n) for n in range(1, 6)] == [1, 3, 9, 20, 20]
    clock = [0.0]

    class Down:
        name = "down"

        def notify(self, alerts: list[dict[str, Any]]) -> None:
            raise DeliveryError("503", recoverable=True)

        def close(self) -> None: ...

    def wait(s: float) -> bool:
        clock[0] += s
        return False

    outcome = deliver(Down(), [alert(1)], retry, wait, lambda: clock[0])
    assert not outcome.ok and "retries exhausted" in outcome.error
    assert (clock[0], outcome.attempts) == (53, 6)  # waited 1+3+9+20+20; 20 more passes 60


def test_a_failing_batch_goes_to_the_dead_letter_and_the_rest_proceeds() -> None:
    dead = Dead()
    with Receiver([400], then=200) as rx:
        s = stage(WebhookSink(name="w", url=rx.url, retry=FAST), dead)
        assert s.handle(values(alert(1, "g-1"), alert(2, "g-2"), alert(3, "g-1")))
        delivered = rx.accepted()
    assert [a["alert_id"] for a in delivered] == ["gw-2"]  # g-1's batch was refused
    [(key, letter)] = dead
    assert key == b"g-1" and letter["sink"] == "w" and letter["attempts"] == 1
    assert [a["alert_id"] for a in letter["alerts"]] == ["gw-1", "gw-3"]
    assert "HTTP 400" in letter["error"] and letter["first_attempt_at"].endswith("+08:00")


def test_undecodable_messages_are_dead_letters_too() -> None:
    dead = Dead()
    with Receiver() as rx:
        s = stage(WebhookSink(name="w", url=rx.url), dead)
        assert s.handle([b"{not json", orjson.dumps([1, 2]), *values(alert(1))])
        assert len(rx.accepted()) == 1
    assert [d[1]["raw"] for d in dead] == ["{not json", "[1,2]"]


FILTERS = [
    ("everything by default", {}, ["gw-1", "gw-2", "gw-3"]),
    ("red only", {"match": Match(severities=("red",))}, ["gw-3"]),
    ("what the street centre gets", {"routed_to": ("street",)}, ["gw-3"]),
    ("one grid", {"match": Match(labels={"grid_id": "g-2"})}, ["gw-2"]),
]


@pytest.mark.parametrize(("kwargs", "expected"), [c[1:] for c in FILTERS],
                         ids=[c[0] for c in FILTERS])
def test_sink_filters(kwargs: dict[str, Any], expected: list[str]) -> None:
    with Receiver() as rx:
        s = stage(WebhookSink(name="w", url=rx.url, **kwargs), Dead())
        s.handle(values(alert(1), alert(2, "g-2"), alert(3, severity="red")))
        assert sorted(a["alert_id"] for a in rx.accepted()) == expected


def test_batches_hold_one_grid_in_order_up_to_batch_max() -> None:
    with Receiver() as rx:
        s = stage(WebhookSink(name="w", url=rx.url, batch_max=2), Dead())
        s.handle(values(alert(1), alert(2, "g-2"), alert(3), alert(4), alert(5, "g-2")))
        bodies = [[a["alert_id"] for a in body["alerts"]] for _, _, body in rx.requests]
    assert bodies == [["gw-1", "gw-3"], ["gw-4"], ["gw-2", "gw-5"]]


def test_stopping_mid_retry_does_not_count_as_handled() -> None:
    with Receiver([503]) as rx:
        cfg = WebhookSink(name="w", url=rx.url, retry=FAST)
        s = SinkStage(cfg, WebhookNotifier(cfg), Dead(), lambda s: True, TZ)
        assert s.handle(values(alert(1))) is False  # the runner will not commit


def test_file_sink_appends_jsonl(tmp_path: Path) -> None:
    path = tmp_path / "out" / "alerts.jsonl"
    s = stage(FileSink(name="f", path=str(path)), Dead())
    s.handle(values(alert(1)))
    s.handle(values(alert(1, seq=2)))
    s.notifier.close()
    assert [(a["alert_id"], a["seq"]) for a in map(orjson.loads, path.read_bytes().splitlines())
            ] == [("gw-1", 1), ("gw-1", 2)]


def test_file_sink_failure_is_recoverable(tmp_path: Path) -> None:
    (tmp_path / "dir").mkdir()
    with pytest.raises(DeliveryError) as err:
        FileNotifier(FileSink(name="f", path=str(tmp_path / "dir"))).notify([alert(1)])
    assert err.value.recoverable


def test_ad_hoc_sinks_are_named_stably_so_a_restart_resumes_their_group() -> None:
    from config.models import load_settings
    from sinks.notify.runner import configured_sinks

    settings = load_settings()
    first = configured_sinks(settings, ["http://127.0.0.1:1/a"], ["out/a.jsonl"])
    again = configured_sinks(settings, ["http://127.0.0.1:1/a"], ["out/a.jsonl"])
    assert [s.name for s in first] == [s.name for s in again]
    assert [type(s).__name__ for s in first] == ["WebhookSink", "FileSink"]


def test_notify_without_sinks_says_what_to_do(capsys: pytest.CaptureFixture[str]) -> None:
    from gridwatch.cli import main

    assert main(["notify", "--bootstrap", "127.0.0.1:1"]) == 2
    assert "--webhook URL" in capsys.readouterr().out


def test_sink_names_must_be_unique() -> None:
    from pydantic import ValidationError

    from config.alerts import NotifySettings

    with pytest.raises(ValidationError, match="unique"):
        NotifySettings(webhooks=(WebhookSink(name="a", url="http://x"),),
                       files=(FileSink(name="a", path="f"),))
