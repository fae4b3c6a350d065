"""A checkpoint written before a state field existed restores after an upgrade.

Detector state is pickled slotted dataclasses; unpickling leaves a slot the old
checkpoint lacked unset, and the first access after an upgrade would raise. Every
such class restores through ``restore_slots``, which gives missing fields their
defaults (this is what let quiet hours join ``device_offline`` over old checkpoints).
"""

from __future__ import annotations

import dataclasses
import importlib
import pkgutil

import detectors
from detectors.base import restore_slots

TRANSIENT = {"detectors.anomaly._Verdict"}  # one reading's statistics, never checkpointed


def state_classes() -> list[type]:
    found = []
    for info in pkgutil.iter_modules(detectors.__path__):
        module = importlib.import_module(f"detectors.{info.name}")
        for cls in vars(module).values():
            if (isinstance(cls, type) and cls.__module__ == module.__name__
                    and dataclasses.is_dataclass(cls) and "__slots__" in vars(cls)
                    and not cls.__dataclass_params__.frozen  # type: ignore[attr-defined]
                    and f"{cls.__module__}.{cls.__qualname__}" not in TRANSIENT):
                found.append(cls)
    return found


def test_every_slotted_state_class_restores_missing_fields_to_their_defaults() -> None:
    classes = state_classes()
    assert len(classes) >= 15  # the detectors' records: persons, homes, devices, places, …
    for cls in classes:
        assert cls.__setstate__ is restore_slots, cls.__qualname__  # type: ignore[attr-defined]
        obj = cls.__new__(cls)
        obj.__setstate__((None, {}))
        for f in dataclasses.fields(cls):
            if f.default is not dataclasses.MISSING:
                assert getattr(obj, f.name) == f.default, (cls.__qualname__, f.name)
            elif f.default_factory is not dataclasses.MISSING:
                assert getattr(obj, f.name) == f.default_factory(), (cls.__qualname__, f.name)
