"""Hot reload: a changed config file reaches the running worker without a restart.

Operators change thresholds while the centre is watching; a restart would
drop a worker out of its group and replay minutes of input. The worker polls
its ``--config`` file instead (cheap: one ``stat`` every few seconds) and,
when it changed, validates it with the same models as ``gridwatch config
check``. A valid file is applied to every engine of the worker, keeping all
learned state (:meth:`streams.engine.Engine.reconfigure`); an invalid one is
refused with every error logged, and the config already running stays.

Only the detector thresholds and alert rules are hot: Kafka and pipeline
settings (brokers, topics, partitions, lateness, time zone) decide how state
is laid out and need a restart, which the log says.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from pathlib import Path

from config.check import check_file
from config.models import Settings

log = logging.getLogger(__name__)

HOT_SECTIONS = ("detectors", "alerts")
RELOAD_EVERY_S = 2.0


@dataclass
class Reload:
    """The outcome of one look at the file: new settings, or why they were refused."""

    settings: Settings | None
    errors: list[str]
    needs_restart: list[str]


def cold_changes(old: Settings, new: Settings) -> list[str]:
    """Top-level sections that changed but only take effect after a restart."""
    return [name for name in type(old).model_fields
            if name not in HOT_SECTIONS and getattr(old, name) != getattr(new, name)]


class ConfigWatcher:
    """Notices changes of one config file by content, not by clock or mtime alone.

    >>> import tempfile
    >>> from config.models import load_settings
    >>> path = Path(tempfile.mkdtemp()) / "gw.yaml"
    >>> _ = path.write_text("detectors:\\n  sensor_threshold:\\n    enabled: true\\n")
    >>> watcher = ConfigWatcher(path, load_settings(path))
    >>> watcher.poll() is None                      # nothing changed
    True
    >>> _ = path.write_text("detectors:\\n  sensor_threshold:\\n    enabled: maybe\\n")
    >>> print(*watcher.poll().errors)
    detectors.sensor_threshold.enabled: Input should be a valid boolean, unable to interpret \
input (got 'maybe')
    >>> _ = path.write_text("detectors:\\n  sensor_threshold:\\n    enabled: false\\n")
    >>> watcher.poll().settings.detectors.sensor_threshold.enabled
    False
    """

    def __init__(self, path: str | Path, current: Settings) -> None:
        self.path = Path(path)
        self.current = current
        self.digest = self._digest()

    def _digest(self) -> str | None:
        try:
            return hashlib.sha256(self.path.read_bytes()).hexdigest()
        except OSError:
            return None

    def poll(self) -> Reload | None:
        """None while the file is unchanged (or missing); else what to do about it."""
        digest = self._digest()
        if digest is None or digest == self.digest:
            return None
        self.digest = digest
        new, errors = check_file(self.path)
        if new is None:
            return Reload(None, errors, [])
        cold = cold_changes(self.current, new)
        self.current = self.current.model_copy(
            update={name: getattr(new, name) for name in HOT_SECTIONS})
        return Reload(self.current, [], cold)


def log_reload(path: Path, outcome: Reload) -> None:
    """What an operator needs in the worker log after editing the file."""
    if outcome.settings is None:
        log.error("config %s refused, the running config stays: %s", path,
                  "; ".join(outcome.errors))
        return
    log.info("config %s applied (detectors and alert rules)", path)
    if outcome.needs_restart:
        log.warning("config %s: changes to %s take effect only after a restart", path,
                    ", ".join(outcome.needs_restart))
