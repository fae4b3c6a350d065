"""Which detector classes run, built from the ``detectors`` config section.

Live worker, replay and tuning all build their detectors here, so what an
operator tunes is exactly what runs.
"""

from __future__ import annotations

from config.models import DetectorSettings
from detectors.anomaly import SensorAnomaly
from detectors.base import Detector
from detectors.cluster import EventCluster
from detectors.crowd import Crowd
from detectors.days import DayTypes
from detectors.night import UnusualHours
from detectors.offline import DeviceOffline
from detectors.presence import Presence
from detectors.rental import GroupRental
from detectors.threshold import SensorThreshold
from gridwatch.registry import Registry


def build_detectors(settings: DetectorSettings, registry: Registry) -> list[Detector]:
    """One instance of every enabled detector family, sharing the registry and calendar."""
    days = DayTypes(settings.calendar)
    detectors: list[Detector] = [
        SensorThreshold(settings.sensor_threshold, registry),
        SensorAnomaly(settings.sensor_anomaly, registry, days),
        DeviceOffline(settings.device_offline, registry),
        UnusualHours(settings.unusual_hours, registry),
        Crowd(settings.crowd, registry, days),
        GroupRental(settings.group_rental, registry),
        EventCluster(settings.event_cluster, registry),
        Presence(settings.presence, registry),
    ]
    return detectors
