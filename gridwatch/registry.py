"""Reference data: grids, houses, persons, gates and devices.

Loaded from a CSV directory at start and updated from the compacted
``gw.registry`` topic. Lookups never raise on unknown ids: an event whose ids
are missing is still processed as far as it can be (an unknown person at a
gate is a stranger), so every accessor returns ``None`` or an empty value.
"""

from __future__ import annotations

import csv
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from gridwatch.contract import (
    REGISTRY_MODELS,
    DeviceRow,
    GateRow,
    GridRow,
    HouseRow,
    PersonRow,
    describe,
)

log = logging.getLogger(__name__)

ID_FIELD = {"grids": "grid_id", "houses": "house_id", "persons": "person_id",
            "gates": "gate_id", "devices": "device_id"}


class RegistryError(ValueError):
    """A registry row or file that cannot be used, with file, line and field."""


@dataclass
class Registry:
    """In-memory registry tables keyed by id, plus the reverse indexes detectors need."""

    grids: dict[str, GridRow] = field(default_factory=dict)
    houses: dict[str, HouseRow] = field(default_factory=dict)
    persons: dict[str, PersonRow] = field(default_factory=dict)
    gates: dict[str, GateRow] = field(default_factory=dict)
    devices: dict[str, DeviceRow] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)
    _residents: dict[str, list[str]] = field(default_factory=dict, repr=False)
    changes: int = field(default=0, repr=False)  # rows put or deleted: caches built on it compare

    # ------------------------------------------------------------ loading
    @classmethod
    def from_dir(cls, path: str | Path) -> Registry:
        """Load every known CSV in ``path``; bad rows are skipped and listed in ``errors``."""
        reg = cls()
        root = Path(path)
        if not root.is_dir():
            raise RegistryError(f"registry: {root} is not a directory")
        for table in REGISTRY_MODELS:
            file = root / f"{table}.csv"
            if file.exists():
                reg._load_csv(table, file)
        reg.reindex()
        for err in reg.errors:
            log.warning("registry row skipped: %s", err)
        return reg

    def _load_csv(self, table: str, file: Path) -> None:
        try:
            self._read_csv(table, file)
        except UnicodeDecodeError as exc:  # the contract says UTF-8: say which file is not
            raise RegistryError(f"{file.name}: not UTF-8 (byte {exc.start})") from None

    def _read_csv(self, table: str, file: Path) -> None:
        with file.open(encoding="utf-8-sig", newline="") as fh:
            for line_no, row in enumerate(csv.DictReader(fh), start=2):
                try:
                    self.put(table, row, reindex=False)
                except RegistryError as exc:
                    self.errors.append(f"{file.name}:{line_no}: {exc}")

    def put(self, table: str, row: dict[str, Any], reindex: bool = True) -> None:
        """Insert or replace one row (a CSV line or a ``gw.registry`` record)."""
        model = REGISTRY_MODELS.get(table)
        if model is None:
            raise RegistryError(f"table: unknown registry table {table!r}")
        clean = {k: v for k, v in row.items() if k is not None and v not in ("", None)}
        try:
            item: BaseModel = model.model_validate(clean)
        except ValidationError as exc:
            raise RegistryError(describe(exc)) from None
        getattr(self, table)[getattr(item, ID_FIELD[table])] = item
        self.changes += 1
        if reindex and table == "persons":
            self.reindex()

    def apply_record(self, record: dict[str, Any], reindex: bool = True) -> None:
        """Apply one ``gw.registry`` record.

        ``{"table": "persons", "row": {...}}`` upserts a row;
        ``{"table": "persons", "id": "p-1", "deleted": true}`` removes one.
        ``reindex=False`` lets a bulk reader rebuild the indexes once per batch.
        """
        table = record.get("table")
        if not isinstance(table, str) or table not in REGISTRY_MODELS:
            raise RegistryError(f"table: must be one of {', '.join(REGISTRY_MODELS)}, "
                                f"got {table!r}")
        if record.get("deleted"):
            self.delete(table, str(record.get("id", "")), reindex)
            return
        row = record.get("row")
        if not isinstance(row, dict):
            raise RegistryError("row: expected an object with the table's columns")
        self.put(table, row, reindex)

    def records(self) -> list[dict[str, Any]]:
        """Every row as a ``gw.registry`` record, for publishing a CSV directory."""
        out: list[dict[str, Any]] = []
        for table in REGISTRY_MODELS:
            for row in getattr(self, table).values():
                data = row.model_dump(mode="json")
                if table == "persons":
                    data["tags"] = ";".join(data["tags"])
                out.append({"table": table, "row": data})
        return out

    def delete(self, table: str, item_id: str, reindex: bool = True) -> None:
        """Remove a row (a tombstone on ``gw.registry``)."""
        getattr(self, table, {}).pop(item_id, None)
        self.changes += 1
        if reindex and table == "persons":
            self.reindex()

    def reindex(self) -> None:
        """Rebuild house → residents, which presence and group-rental detectors read."""
        residents: dict[str, list[str]] = {}
        for pid, person in self.persons.items():
            if person.house_id:
                residents.setdefault(person.house_id, []).append(pid)
        self._residents = residents
        self.changes += 1  # (a bulk load puts rows first, then indexes them once)

    # ------------------------------------------------------------ lookups
    def person_tags(self, person_id: str | None) -> list[str]:
        person = self.persons.get(person_id) if person_id else None
        return person.tags if person else []

    def person_house(self, person_id: str | None) -> str | None:
        person = self.persons.get(person_id) if person_id else None
        return person.house_id or None if person else None

    def residents(self, house_id: str) -> list[str]:
        return self._residents.get(house_id, [])

    def house_grid(self, house_id: str | None) -> str | None:
        house = self.houses.get(house_id) if house_id else None
        return house.grid_id if house else None

    def gate_grid(self, gate_id: str) -> str | None:
        gate = self.gates.get(gate_id)
        return gate.grid_id if gate else None

    def gate_house(self, gate_id: str) -> str | None:
        gate = self.gates.get(gate_id)
        return gate.house_id or None if gate else None

    def device_house(self, device_id: str) -> str | None:
        device = self.devices.get(device_id)
        return device.house_id or None if device else None

    def device_grid(self, device_id: str) -> str | None:
        device = self.devices.get(device_id)
        if device is None:
            return None
        return device.grid_id or self.house_grid(device.house_id) or None

    def person_grid(self, person_id: str | None) -> str | None:
        return self.house_grid(self.person_house(person_id))

    def building_of_device(self, device_id: str) -> str | None:
        house = self.houses.get(self.device_house(device_id) or "")
        return house.building_id or None if house else None
