"""Registry loading: CSV directories and gw.registry records, tolerant of bad rows."""

from __future__ import annotations

from pathlib import Path

import pytest

from gridwatch.registry import Registry, RegistryError

DATA = Path(__file__).parent / "data" / "registry"


def test_loads_every_table_and_answers_lookups() -> None:
    reg = Registry.from_dir(DATA)
    assert reg.errors == []
    assert reg.person_tags("p-00042") == ["elderly_alone"]
    assert reg.person_tags("p-00044") == ["minor", "tenant"]
    assert reg.person_grid("p-00042") == "grid-0103"
    assert reg.gate_house("door-001") == "h-001" and reg.gate_house("gate-07") is None
    assert reg.device_grid("sm-1001") == "grid-0103"  # through its house
    assert reg.device_grid("tm-9001") == "grid-0104"  # a public device names its grid
    assert sorted(reg.residents("h-002")) == ["p-00043", "p-00044"]
    assert reg.houses["h-001"].registered_occupants == 1
    assert reg.building_of_device("sm-1001") == "b-01"


def test_unknown_ids_answer_empty_not_raise() -> None:
    reg = Registry.from_dir(DATA)
    assert reg.person_tags("nobody") == [] and reg.person_tags(None) == []
    assert reg.person_grid("nobody") is None
    assert reg.device_grid("ghost") is None and reg.gate_grid("ghost") is None


def test_bad_rows_are_skipped_with_file_line_and_field(tmp_path: Path) -> None:
    (tmp_path / "houses.csv").write_text(
        "house_id,grid_id,building_id,registered_occupants,lat,lon,extra\n"
        "h-1,grid-1,b-1,2,46.5,125.1,ignored\n"
        "h-2,grid-1,b-1,many,,,\n"
        ",grid-1,b-1,1,,,\n", encoding="utf-8")
    reg = Registry.from_dir(tmp_path)
    assert list(reg.houses) == ["h-1"]
    assert reg.errors[0].startswith("houses.csv:3: registered_occupants: ")
    assert reg.errors[1].startswith("houses.csv:4: house_id: ")


def test_registry_records_upsert_and_delete() -> None:
    reg = Registry.from_dir(DATA)
    reg.apply_record({"table": "persons", "row": {"person_id": "p-9", "house_id": "h-001",
                                                  "tags": "dementia;elderly"}})
    assert reg.person_tags("p-9") == ["dementia", "elderly"]
    assert "p-9" in reg.residents("h-001")
    reg.apply_record({"table": "persons", "id": "p-9", "deleted": True})
    assert reg.person_tags("p-9") == [] and "p-9" not in reg.residents("h-001")
    with pytest.raises(RegistryError, match="table: must be one of"):
        reg.apply_record({"table": "cats", "row": {}})
    with pytest.raises(RegistryError, match="row: expected an object"):
        reg.apply_record({"table": "grids"})


def test_records_round_trip_through_a_new_registry() -> None:
    reg = Registry.from_dir(DATA)
    copy = Registry()
    for record in reg.records():
        copy.apply_record(record)
    assert copy.persons == reg.persons and copy.devices == reg.devices
    assert copy.grids == reg.grids


def test_missing_directory_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(RegistryError, match="is not a directory"):
        Registry.from_dir(tmp_path / "nope")
