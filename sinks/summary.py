"""One-line summaries for people (zh-CN by default, en available).

Summaries name subjects by their pseudonymous id and tag only: no names or
phone numbers ever reach an alert. Each kind has a template per language; a
missing template falls back to a generic line, never an error.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from detectors.base import Decision

TAG_LABELS = {
    "zh-CN": {"elderly_alone": "独居老人", "elderly": "老人", "dementia": "认知障碍人员",
              "key_person": "重点人员", "minor": "未成年人", "tenant": "租户",
              "disabled": "残障人员"},
    "en": {"elderly_alone": "elderly person living alone", "elderly": "elderly person",
           "dementia": "person with dementia", "key_person": "key person", "minor": "minor",
           "tenant": "tenant", "disabled": "disabled person"},
}
KIND_LABELS = {
    "zh-CN": {"long_absent": "久未出现", "stay_in": "久居未出", "out_no_return": "久出未归",
              "unusual_hours": "昼伏夜出", "crowd": "人员聚集", "group_rental": "疑似群租",
              "event_cluster": "事件聚集", "sensor_threshold": "传感器越限",
              "sensor_anomaly": "传感器异常", "no_usage": "用水看护",
              "device_offline": "设备离线"},
    "en": {"long_absent": "long absent", "stay_in": "stay-in", "out_no_return":
           "out without return", "unusual_hours": "night activity", "crowd": "crowd",
           "group_rental": "suspected group renting", "event_cluster": "event cluster",
           "sensor_threshold": "sensor threshold crossed", "sensor_anomaly": "sensor anomaly",
           "no_usage": "no water use", "device_offline": "device offline"},
}
METRIC_LABELS = {"zh-CN": {"smoke": "烟感", "gas": "燃气浓度", "temperature": "温度",
                           "water": "用水", "power": "用电"},
                 "en": {}}

Template = Callable[[Decision, str, str], str]
TEMPLATES: dict[str, dict[str, Template]] = {"zh-CN": {}, "en": {}}


def template(kind: str, lang: str) -> Callable[[Template], Template]:
    """Register a summary template for one kind and language."""
    def register(fn: Template) -> Template:
        TEMPLATES[lang][kind] = fn
        return fn
    return register


def summarize(d: Decision, tags: list[str], lang: str) -> str:
    """The alert's one-line summary; ``tags`` are the subject person's registry tags."""
    label = _who(d, tags, lang)
    fn = TEMPLATES.get(lang, {}).get(d.kind)
    if fn is not None:
        return fn(d, label, lang)
    return _generic(d, label, lang)


def _who(d: Decision, tags: list[str], lang: str) -> str:
    names = TAG_LABELS.get(lang, TAG_LABELS["en"])
    tag = next((names[t] for t in ("elderly_alone", "dementia", "key_person", "elderly",
                                   "disabled", "minor", "tenant") if t in tags), "")
    sep = " " if lang == "zh-CN" else " "
    return f"{tag}{sep}{d.subject_id}".strip() if tag else d.subject_id


def _generic(d: Decision, who: str, lang: str) -> str:
    kind = KIND_LABELS.get(lang, KIND_LABELS["en"]).get(d.kind, d.kind)
    if lang == "zh-CN":
        return f"{who}：{kind}" + ("（已恢复）" if d.status == "resolved" else "")
    return f"{who}: {kind}" + (" (resolved)" if d.status == "resolved" else "")


def _fmt(value: Any) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)


@template("sensor_threshold", "zh-CN")
def _threshold_zh(d: Decision, who: str, lang: str) -> str:
    ev = d.evidence
    metric = METRIC_LABELS["zh-CN"].get(ev.get("metric", ""), ev.get("metric", ""))
    if d.status == "resolved":
        return f"设备 {who} {metric}已恢复正常（{_fmt(ev.get('value'))}）"
    word = "超过" if ev.get("direction", "above") == "above" else "低于"
    return f"设备 {who} {metric}{word}阈值：{_fmt(ev.get('value'))}（阈值 {_fmt(ev.get('limit'))}）"


@template("sensor_threshold", "en")
def _threshold_en(d: Decision, who: str, lang: str) -> str:
    ev = d.evidence
    if d.status == "resolved":
        return f"device {who}: {ev.get('metric')} back to normal ({_fmt(ev.get('value'))})"
    word = "above" if ev.get("direction", "above") == "above" else "below"
    return (f"device {who}: {ev.get('metric')} {_fmt(ev.get('value'))} {word} limit "
            f"{_fmt(ev.get('limit'))}")
