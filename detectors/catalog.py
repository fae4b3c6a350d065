"""Which detector classes run, built from the ``detectors`` config section.

Live worker, replay and tuning all build their detectors here, so what an
operator tunes is exactly what runs.
"""

from __future__ import annotations

from config.models import DetectorSettings
from detectors.base import Detector
from detectors.threshold import SensorThreshold
from gridwatch.registry import Registry


def build_detectors(settings: DetectorSettings, registry: Registry) -> list[Detector]:
    """One instance of every enabled detector family, sharing the registry."""
    detectors: list[Detector] = [
        SensorThreshold(settings.sensor_threshold, registry),
    ]
    return detectors
