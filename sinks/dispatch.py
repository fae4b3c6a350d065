"""Dispatch: what happens to an episode update between the episode book and ``gw.alerts``.

Each update is labelled (:mod:`sinks.labels`), routed (:mod:`sinks.route`)
and offered to the muters — silences (:mod:`sinks.silence`) and inhibition
(:mod:`sinks.inhibit`). Then it is either *sent* (appended to the engine's
output for ``gw.alerts``) or *muted*: kept, with the reason, in
:attr:`Dispatcher.muted` for ``gw.alerts.muted``, and held as the episode's
pending state. The rules that make an update stream a dispatch system can
trust:

* ``seq`` grows with every update, sent or muted: the dispatch system may see
  gaps (the muted updates, listed on ``gw.alerts.muted``) but never a reorder.
* A resolution of an episode the dispatch system has seen is always sent,
  muted or not: an open ticket must be closable.
* When a mute ends — its silence expires, the inhibiting source resolves —
  a still-firing pending episode is sent again (``update: "unmuted"``), at
  the event time the mute ended.
* A still-firing urgent episode is repeated after ``repeat_interval_s`` of
  event time without an update (``update: "repeat"``), unless muted.

Every alert carries the optional ``update`` field saying which of these it is
(``opened``, ``escalated``, ``resolved``, ``repeat``, ``unmuted``) and the
optional ``routes`` field.
"""

from __future__ import annotations

from datetime import timezone
from typing import Any

from config.alerts import AlertSettings
from gridwatch.events import iso
from gridwatch.registry import Registry
from sinks.episodes import EpisodeBook
from sinks.inhibit import Candidate, Inhibitor
from sinks.labels import alert_labels
from sinks.lifecycle import RECHECK, REPEAT, EpisodeState, Timers
from sinks.route import AlertRouter
from sinks.silence import SilenceBook, Silencer

Alert = dict[str, Any]


class Dispatcher:
    """Mutes, routes, repeats and releases the updates of one engine's episodes."""

    def __init__(self, config: AlertSettings, registry: Registry, book: EpisodeBook,
                 tz: timezone, silences: SilenceBook | None = None) -> None:
        self.config = config
        self.registry = registry
        self.book = book
        self.tz = tz
        self.inhibitor = Inhibitor(config.inhibit)
        self.silencer = Silencer(silences if silences is not None else SilenceBook())
        self.router = AlertRouter(config.routes)
        self.episodes: dict[str, EpisodeState] = {}
        self.timers = Timers()
        self.targets: dict[str, set[str]] = {}  # inhibiting source id → pending targets
        self.muted: list[Alert] = []
        self.stats = {"muted": 0, "repeats": 0, "unmuted": 0}
        self._silence_version = self.silencer.book.version

    # ------------------------------------------------------------ updates
    def offer(self, alert: Alert, t: float, out: list[Alert]) -> None:
        """An update from the episode book: send it to ``out`` or keep it as muted."""
        aid = alert["alert_id"]
        st = self.episodes.get(aid)
        if st is None:
            st = self.episodes[aid] = EpisodeState(_key(alert))
        firing = alert["status"] == "firing"
        alert["update"] = "resolved" if not firing else "opened" if alert["seq"] == 1 \
            else "escalated"
        labels = alert_labels(alert, self.registry)
        alert["routes"] = self.router.routes(alert, labels)
        c = Candidate(alert, labels, t)
        stopped_inhibiting = self.inhibitor.observe(c)
        why = self.why(c)
        if why and (firing or not st.delivered):
            self._mute(c, st, why)
        else:
            self._send(c, st, out)
        if not firing:
            del self.episodes[aid]
        if stopped_inhibiting or not firing:
            self._release(aid, t, out)

    def why(self, c: Candidate) -> dict[str, list[dict[str, Any]]]:
        """Why ``c`` is muted (``{}`` if it is not): the silences and inhibiting sources."""
        why: dict[str, list[dict[str, Any]]] = {}
        silences = self.silencer.why(c)
        if silences:
            why["silences"] = silences
        sources = self.inhibitor.why(c)
        if sources:
            why["inhibited_by"] = sources
        return why

    def _send(self, c: Candidate, st: EpisodeState, out: list[Alert]) -> None:
        out.append(dict(c.alert))
        st.delivered = True
        st.pending, st.silenced_by, st.inhibited_by = None, (), ()
        st.recheck_at = float("inf")
        interval = self.config.repeat_interval(c.alert["kind"], c.alert["severity"])
        if c.alert["status"] == "firing" and interval:
            st.last = dict(c.alert)
            st.next_repeat = c.t + interval
            self.timers.push(st.next_repeat, REPEAT, c.alert_id)
        else:
            st.last, st.next_repeat = None, float("inf")

    def _mute(self, c: Candidate, st: EpisodeState, why: dict[str, list[dict[str, Any]]]) -> None:
        self.muted.append({**c.alert, "muted": why})
        self.stats["muted"] += 1
        if c.alert["status"] == "firing":
            st.pending, st.pending_t = dict(c.alert), c.t
            self._hold(c.alert_id, st, why, c.t)

    def _hold(self, aid: str, st: EpisodeState, why: dict[str, list[dict[str, Any]]],
              t: float) -> None:
        """Remember what holds a pending update and arrange to look again when it ends."""
        st.silenced_by = tuple(s["silence_id"] for s in why.get("silences", ()))
        st.inhibited_by = tuple(s["alert_id"] for s in why.get("inhibited_by", ()))
        for source in st.inhibited_by:
            self.targets.setdefault(source, set()).add(aid)
        st.recheck_at = self.silencer.ends(st.silenced_by, t) if st.silenced_by \
            else float("inf")
        self.timers.push(st.recheck_at, RECHECK, aid)

    # ------------------------------------------------------------ releases
    def _release(self, source_id: str, t: float, out: list[Alert]) -> None:
        """``source_id`` stopped inhibiting at ``t``: look again at what it held."""
        for aid in sorted(self.targets.pop(source_id, ())):
            st = self.episodes.get(aid)
            if st is not None and st.pending is not None and source_id in st.inhibited_by:
                self._recheck(aid, st, t, out)

    def _recheck(self, aid: str, st: EpisodeState, t: float, out: list[Alert]) -> None:
        assert st.pending is not None
        ts = max(t, st.pending_t)
        alert = st.pending
        c = Candidate(alert, alert_labels(alert, self.registry), ts)
        why = self.why(c)
        if why:
            self._hold(aid, st, why, ts)
            return
        seq = self.book.bump(st.key, ts)
        if seq is None:
            return
        released = {**alert, "seq": seq, "ts": iso(ts, self.tz), "update": "unmuted"}
        self.stats["unmuted"] += 1
        self._send(Candidate(released, c.labels, ts), st, out)

    # ------------------------------------------------------------ event time
    def advance(self, watermark: float, out: list[Alert]) -> None:
        """Fire the repeats and silence rechecks that fell due by ``watermark``."""
        if self.silencer.book.version != self._silence_version:
            self._silences_changed()
        for due, kind, aid in self.timers.due(watermark):
            st = self.episodes.get(aid)
            if st is None:
                continue
            if kind == RECHECK and st.pending is not None and st.recheck_at == due:
                self._recheck(aid, st, due, out)
            elif kind == REPEAT and st.next_repeat == due:
                self._repeat(aid, st, due, out)

    def _repeat(self, aid: str, st: EpisodeState, due: float, out: list[Alert]) -> None:
        last = st.last
        assert last is not None
        interval = self.config.repeat_interval(last["kind"], last["severity"])
        if st.pending is None and not self.why(
                Candidate(last, alert_labels(last, self.registry), due)):
            seq = self.book.bump(st.key, due)
            if seq is not None:
                self.stats["repeats"] += 1
                out.append({**last, "seq": seq, "ts": iso(due, self.tz), "update": "repeat"})
        st.next_repeat = due + interval if interval else float("inf")
        self.timers.push(st.next_repeat, REPEAT, aid)

    def _silences_changed(self) -> None:
        """A silence was added, moved or removed: reschedule the rechecks it affects."""
        self._silence_version = self.silencer.book.version
        for aid, st in self.episodes.items():
            if st.pending is not None and st.silenced_by:
                at = self.silencer.ends(st.silenced_by, st.pending_t)
                if at != st.recheck_at:
                    st.recheck_at = at
                    self.timers.push(at, RECHECK, aid)

    # ------------------------------------------------------------ output, checkpoint
    def take_muted(self) -> list[Alert]:
        """The muted updates since the last call (for ``gw.alerts.muted`` or a file)."""
        muted, self.muted = self.muted, []
        return muted

    def snapshot(self) -> dict[str, Any]:
        return {"episodes": self.episodes, "timers": self.timers.heap, "targets": self.targets,
                "inhibitor": self.inhibitor.snapshot()}

    def restore(self, state: dict[str, Any]) -> None:
        self.episodes = state["episodes"]
        self.timers.heap = state["timers"]
        self.targets = state["targets"]
        self.inhibitor.restore(state["inhibitor"])
        self._silence_version = -1  # the silences may have moved while we were down


def _key(alert: Alert) -> tuple[str, str, str]:
    return alert["kind"], alert["subject"]["type"], alert["subject"]["id"]
