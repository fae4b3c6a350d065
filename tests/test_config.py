"""Settings: defaults, YAML overrides, environment overrides, errors naming the field."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from config.models import DEFAULT_YAML, dump_yaml, load_settings
from gridwatch.cli import main


def test_shipped_default_yaml_is_the_rendering_of_the_models() -> None:
    assert DEFAULT_YAML.read_text(encoding="utf-8") == dump_yaml(load_settings())


def test_shipped_default_yaml_loads_to_the_defaults() -> None:
    assert load_settings(DEFAULT_YAML) == load_settings()


def test_yaml_overrides_only_what_it_names(tmp_path: Path) -> None:
    f = tmp_path / "c.yaml"
    f.write_text("pipeline:\n  allowed_lateness_s: 60\nkafka:\n  partitions: 8\n")
    s = load_settings(f)
    assert s.pipeline.allowed_lateness_s == 60 and s.kafka.partitions == 8
    assert s.pipeline.timezone == "+08:00" and s.kafka.topics.alerts == "gw.alerts"


def test_a_tag_named_in_a_file_keeps_the_other_tags_and_its_own_shipped_hours(
        tmp_path: Path) -> None:
    """Watching one more tag must not stop the welfare core: the file's tags are merged
    into the shipped ones field by field, and null switches one kind off."""
    f = tmp_path / "c.yaml"
    f.write_text("detectors:\n  presence:\n    tags:\n      elderly: {watch: true}\n"
                 "      dementia: {out_hours: null}\n      veteran: {watch: true, "
                 "absent_hours: 36}\n")
    tags = load_settings(f).detectors.presence.tags
    shipped = load_settings().detectors.presence.tags
    assert tags["elderly"] == shipped["elderly"].model_copy(update={"watch": True})
    assert tags["elderly_alone"] == shipped["elderly_alone"]
    assert tags["key_person"] == shipped["key_person"]
    assert tags["dementia"].out_hours is None and tags["dementia"].absent_hours == 24
    assert tags["veteran"].absent_hours == 36 and tags["veteran"].stay_in_hours is None
    f.write_text("detectors:\n  presence:\n    tags:\n      elderly: {absent_hours: -1}\n")
    with pytest.raises(ValidationError, match="tags.elderly.absent_hours"):
        load_settings(f)


def test_a_kind_named_in_repeat_interval_by_kind_keeps_the_shipped_kinds(
        tmp_path: Path) -> None:
    f = tmp_path / "c.yaml"
    f.write_text("alerts:\n  repeat_interval_by_kind:\n    crowd: {orange: 600}\n"
                 "    unusual_hours: {}\n")
    alerts = load_settings(f).alerts
    assert alerts.repeat_interval("crowd", "orange") == 600
    assert alerts.repeat_interval("group_rental", "orange") == 86400  # shipped, kept
    assert alerts.repeat_interval("unusual_hours", "orange") is None  # {}: never repeated
    assert alerts.repeat_interval("stay_in", "red") == 3600  # the severity-wide default


def test_environment_beats_the_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    f = tmp_path / "c.yaml"
    f.write_text("kafka:\n  bootstrap_servers: file:9092\n  partitions: 8\n")
    monkeypatch.setenv("GRIDWATCH_KAFKA__BOOTSTRAP_SERVERS", "env:9092")
    s = load_settings(f)
    assert s.kafka.bootstrap_servers == "env:9092" and s.kafka.partitions == 8


def test_typos_and_bad_values_are_refused(tmp_path: Path) -> None:
    f = tmp_path / "c.yaml"
    f.write_text("pipeline:\n  alowed_lateness_s: 60\n")
    with pytest.raises(ValidationError, match="alowed_lateness_s"):
        load_settings(f)
    f.write_text("detectors:\n  sensor_threshold:\n    rules:\n"
                 "      - {metric: gas, limit: 20, clear: 30}\n")
    with pytest.raises(ValidationError, match=r"clear must be at or below limit \(20.0\)"):
        load_settings(f)


def test_config_check_command_prints_path_and_value(tmp_path: Path,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    f = tmp_path / "c.yaml"
    f.write_text("kafka:\n  partitions: 0\n")
    assert main(["config", "check", str(f)]) == 1
    out = capsys.readouterr().out
    assert "kafka.partitions: Input should be greater than or equal to 1 (got 0)" in out
    f.write_text("pipeline:\n  language: en\n")
    assert main(["config", "check", str(f)]) == 0


def test_config_hash_changes_with_a_threshold(tmp_path: Path) -> None:
    f = tmp_path / "c.yaml"
    f.write_text("detectors:\n  sensor_threshold:\n    rules:\n      - {metric: gas, limit: 30}\n")
    assert (load_settings(f).detectors.sensor_threshold.config_hash()
            != load_settings().detectors.sensor_threshold.config_hash())


@pytest.mark.parametrize(("text", "message"), [
    ("pipeline:\n  alowed_lateness_s: 60\n",
     "pipeline.alowed_lateness_s: unknown key (got 60); did you mean 'allowed_lateness_s'?"),
    ("pipeline:\n  allowed_lateness_s: soon\n",
     "pipeline.allowed_lateness_s: Input should be a valid number, unable to parse string as "
     "a number (got 'soon')"),
    ("kafka:\n  partitions: 0\n",
     "kafka.partitions: Input should be greater than or equal to 1 (got 0)"),
    ("pipeline:\n  language: fr\n",
     "pipeline.language: Input should be 'zh-CN' or 'en' (got 'fr')"),
    ("detectors:\n  sensor_threshold:\n    rules:\n      - {metric: gas, limit: 20, clear: 30}\n",
     "detectors.sensor_threshold.rules.0: clear must be at or below limit (20.0) for "
     "direction 'above', got 30.0 (got {'metric': 'gas', 'limit': 20, 'clear': 30})"),
    ("detectors: [1, 2]\n",
     "detectors: Input should be a valid dictionary or instance of DetectorSettings "
     "(got [1, 2])"),
    ("pipeline: {language: en\n", None),
    ("- just\n- a list\n", None),
])
def test_config_check_names_each_kind_of_mistake(tmp_path: Path, text: str,
                                                 message: str | None) -> None:
    from config.check import check_file

    f = tmp_path / "c.yaml"
    f.write_text(text)
    settings, errors = check_file(f)
    assert settings is None and len(errors) == 1
    if message is not None:
        assert errors == [message]
    elif text.startswith("-"):
        assert errors == [f"{f}: top level must be a mapping, got list"]
    else:
        assert errors[0].startswith("not valid YAML: while parsing a flow mapping")
