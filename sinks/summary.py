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


_ANOMALY_TESTS = {"zh-CN": {"continuous_flow": "持续流量（疑似漏水）",
                            "level_shift": "用量持续偏高", "spike": "用量突增"},
                  "en": {"continuous_flow": "continuous flow (suspected leak)",
                         "level_shift": "sustained rise", "spike": "sudden spike"}}


@template("sensor_anomaly", "zh-CN")
def _anomaly_zh(d: Decision, who: str, lang: str) -> str:
    ev = d.evidence
    metric = METRIC_LABELS["zh-CN"].get(ev.get("metric", ""), ev.get("metric", ""))
    test = _ANOMALY_TESTS["zh-CN"].get(ev.get("test", ""), ev.get("test", ""))
    if d.status == "resolved":
        return f"设备 {who} {metric}已恢复正常"
    if ev.get("test") == "continuous_flow":
        return f"设备 {who} {metric}{test}：{_fmt(ev.get('hours_without_still'))} 小时无静止时段"
    return f"设备 {who} {metric}异常：{test}（评分 {_fmt(ev.get('score'))}）"


@template("sensor_anomaly", "en")
def _anomaly_en(d: Decision, who: str, lang: str) -> str:
    ev = d.evidence
    test = _ANOMALY_TESTS["en"].get(ev.get("test", ""), ev.get("test", ""))
    if d.status == "resolved":
        return f"device {who}: {ev.get('metric')} back to its usual pattern"
    if ev.get("test") == "continuous_flow":
        return (f"device {who}: {ev.get('metric')} {test}, no still hour for "
                f"{_fmt(ev.get('hours_without_still'))} h")
    return f"device {who}: {ev.get('metric')} {test} (score {_fmt(ev.get('score'))})"


@template("device_offline", "zh-CN")
def _offline_zh(d: Decision, who: str, lang: str) -> str:
    ev = d.evidence
    if d.subject_type == "building":
        if d.status == "resolved":
            return f"楼栋 {who} 设备已恢复上报"
        return f"楼栋 {who} {ev.get('silent_devices')} 台设备同时离线（疑似停电或断网）"
    if d.status == "resolved":
        return f"设备 {who} 已恢复上报（离线 {_fmt(ev.get('offline_hours'))} 小时）"
    return (f"设备 {who} 离线：{_fmt(ev.get('silent_hours'))} 小时无上报"
            f"（正常间隔 {_fmt(ev.get('expected_interval_h'))} 小时）")


@template("device_offline", "en")
def _offline_en(d: Decision, who: str, lang: str) -> str:
    ev = d.evidence
    if d.subject_type == "building":
        if d.status == "resolved":
            return f"building {who}: devices reporting again"
        return (f"building {who}: {ev.get('silent_devices')} devices silent together "
                "(power or network cut?)")
    if d.status == "resolved":
        return f"device {who}: reporting again after {_fmt(ev.get('offline_hours'))} h"
    return (f"device {who}: silent for {_fmt(ev.get('silent_hours'))} h "
            f"(usually every {_fmt(ev.get('expected_interval_h'))} h)")


# ------------------------------------------------------------ pattern detectors
_PLACE = {"zh-CN": {"gate": "出入口", "grid": "网格"}, "en": {"gate": "gate", "grid": "grid"}}


def _pct(value: Any) -> str:
    return f"{float(value):.0%}" if isinstance(value, int | float) else "?"


@template("unusual_hours", "zh-CN")
def _night_zh(d: Decision, who: str, lang: str) -> str:
    ev = d.evidence
    if d.status == "resolved":
        return f"{who} 作息已恢复：近 {ev.get('window_days')} 天深夜活动 {ev.get('night_days')} 天"
    return (f"{who} 昼伏夜出：近 {ev.get('days_observed')} 天中 {ev.get('night_days')} 天"
            f"在 {ev.get('quiet_hours')} 时有出入，夜间出入占比 "
            f"{_pct(ev.get('night_share_before'))}→{_pct(ev.get('night_share_after'))}")


@template("unusual_hours", "en")
def _night_en(d: Decision, who: str, lang: str) -> str:
    ev = d.evidence
    if d.status == "resolved":
        return f"{who}: night activity back to usual ({ev.get('night_days')} night days left)"
    return (f"{who}: passes at {ev.get('quiet_hours')} h on {ev.get('night_days')} of the "
            f"last {ev.get('days_observed')} days; night share "
            f"{_pct(ev.get('night_share_before'))} -> {_pct(ev.get('night_share_after'))}")


@template("crowd", "zh-CN")
def _crowd_zh(d: Decision, who: str, lang: str) -> str:
    ev, place = d.evidence, _PLACE["zh-CN"].get(d.subject_type, "")
    if d.status == "resolved":
        return f"{place} {who} 人员聚集已消散（峰值 {ev.get('peak')} 人）"
    expected = f"，平时约 {_fmt(ev['expected'])} 人" if "expected" in ev else ""
    return (f"{place} {who} {_fmt(ev.get('window_minutes'))} 分钟内 "
            f"{ev.get('distinct_people')} 人通行"
            f"（进入的陌生或未识别 {ev.get('strangers')}）{expected}")


@template("crowd", "en")
def _crowd_en(d: Decision, who: str, lang: str) -> str:
    ev, place = d.evidence, _PLACE["en"].get(d.subject_type, "")
    if d.status == "resolved":
        return f"{place} {who}: crowd dispersed (peak {ev.get('peak')})"
    expected = f", usually ~{_fmt(ev['expected'])}" if "expected" in ev else ""
    return (f"{place} {who}: {ev.get('distinct_people')} people in "
            f"{_fmt(ev.get('window_minutes'))} min ({ev.get('strangers')} strangers or "
            f"unrecognised coming in){expected}")


def _use_zh(ev: dict[str, Any]) -> str:
    if not ev.get("use_corroborates"):
        return ""
    ratios = [f"{METRIC_LABELS['zh-CN'].get(k.split('_')[0], k)}为同类住户 {_fmt(v)} 倍"
              for k, v in ev.items() if k.endswith("_vs_similar_households")]
    return ("，" + "，".join(ratios)) if ratios else ""


@template("group_rental", "zh-CN")
def _rental_zh(d: Decision, who: str, lang: str) -> str:
    ev = d.evidence
    if d.status == "resolved":
        return f"房屋 {who} 常用人数已恢复（{ev.get('regular_users')} 人）"
    return (f"房屋 {who} 疑似群租：登记 {ev.get('registered_occupants')} 人，近 "
            f"{ev.get('window_days')} 天门锁常用 {ev.get('regular_users')} 人（非本户登记 "
            f"{ev.get('regular_users_not_registered_here')} 人）{_use_zh(ev)}")


@template("group_rental", "en")
def _rental_en(d: Decision, who: str, lang: str) -> str:
    ev = d.evidence
    if d.status == "resolved":
        return f"house {who}: regular users back to {ev.get('regular_users')}"
    ratios = [f"{k.split('_')[0]} {_fmt(v)}x similar homes" for k, v in ev.items()
              if k.endswith("_vs_similar_households") and ev.get("use_corroborates")]
    return (f"house {who}: {ev.get('regular_users')} regular door users in "
            f"{ev.get('window_days')} days, {ev.get('registered_occupants')} registered "
            f"({ev.get('regular_users_not_registered_here')} not registered here)"
            + (f"; {', '.join(ratios)}" if ratios else ""))


@template("event_cluster", "zh-CN")
def _cluster_zh(d: Decision, who: str, lang: str) -> str:
    ev = d.evidence
    if d.status == "resolved":
        return f"网格 {who} 事件聚集已平息（共 {ev.get('members')} 起）"
    alarms = f"，含传感器报警 {ev['sensor_alarms']} 次" if ev.get("sensor_alarms") else ""
    kinds = "、".join(ev.get("categories", {}))
    return (f"网格 {who} {_fmt(ev.get('eps_minutes'))} 分钟、{_fmt(ev.get('eps_m'))} 米内聚集 "
            f"{ev.get('members')} 起事件（{ev.get('sources')} 个来源{alarms}）：{kinds}")


@template("event_cluster", "en")
def _cluster_en(d: Decision, who: str, lang: str) -> str:
    ev = d.evidence
    if d.status == "resolved":
        return f"grid {who}: event cluster quiet ({ev.get('members')} in all)"
    alarms = f", {ev['sensor_alarms']} sensor alarms" if ev.get("sensor_alarms") else ""
    return (f"grid {who}: {ev.get('members')} reports within {_fmt(ev.get('eps_m'))} m and "
            f"{_fmt(ev.get('eps_minutes'))} min ({ev.get('sources')} sources{alarms}): "
            f"{', '.join(ev.get('categories', {}))}")


# ------------------------------------------------------------ presence
def _basis(ev: dict[str, Any], lang: str) -> str:
    """Why now: the household's own routine, or the fixed rule."""
    limit = _fmt(ev.get("threshold_hours"))
    if lang == "zh-CN":
        return f"（超出其日常规律，阈值 {limit} 小时）" if ev.get("rule") == "learned" \
            else f"（阈值 {limit} 小时）"
    return f" (past this household's routine, line {limit} h)" if ev.get("rule") == "learned" \
        else f" (limit {limit} h)"


@template("stay_in", "zh-CN")
def _stay_in_zh(d: Decision, who: str, lang: str) -> str:
    ev = d.evidence
    if d.status == "resolved":
        return f"{who} 已再次出现（此前 {_fmt(ev.get('hours'))} 小时无动静）"
    home = "、无居家活动" if ev.get("home_activity_attributable") else ""
    return f"{who} 进入后 {_fmt(ev.get('hours'))} 小时未出门{home}{_basis(ev, lang)}"


@template("stay_in", "en")
def _stay_in_en(d: Decision, who: str, lang: str) -> str:
    ev = d.evidence
    if d.status == "resolved":
        return f"{who}: seen again after {_fmt(ev.get('hours'))} h of silence"
    home = ", no activity at home" if ev.get("home_activity_attributable") else ""
    return f"{who}: inside for {_fmt(ev.get('hours'))} h without going out{home}{_basis(ev, lang)}"


@template("out_no_return", "zh-CN")
def _out_zh(d: Decision, who: str, lang: str) -> str:
    ev = d.evidence
    if d.status == "resolved":
        return f"{who} 已返回（外出 {_fmt(ev.get('hours'))} 小时）"
    return f"{who} 外出 {_fmt(ev.get('hours'))} 小时未归{_basis(ev, lang)}"


@template("out_no_return", "en")
def _out_en(d: Decision, who: str, lang: str) -> str:
    ev = d.evidence
    if d.status == "resolved":
        return f"{who}: back after {_fmt(ev.get('hours'))} h out"
    return f"{who}: out for {_fmt(ev.get('hours'))} h, not back{_basis(ev, lang)}"


@template("long_absent", "zh-CN")
def _absent_zh(d: Decision, who: str, lang: str) -> str:
    ev = d.evidence
    if d.status == "resolved":
        return f"{who} 已再次出现（{_fmt(ev.get('hours'))} 小时未见）"
    return f"{who} {_fmt(ev.get('hours'))} 小时未出现（无通行、无居家活动）{_basis(ev, lang)}"


@template("long_absent", "en")
def _absent_en(d: Decision, who: str, lang: str) -> str:
    ev = d.evidence
    if d.status == "resolved":
        return f"{who}: seen again after {_fmt(ev.get('hours'))} h"
    return f"{who}: not seen anywhere for {_fmt(ev.get('hours'))} h{_basis(ev, lang)}"


@template("no_usage", "zh-CN")
def _no_usage_zh(d: Decision, who: str, lang: str) -> str:
    ev = d.evidence
    if d.status == "resolved":
        return f"独居老人住户 {who} 已恢复用水或有人出入（{_fmt(ev.get('hours'))} 小时）"
    still = "，期间亦无居家活动" if ev.get("activity_silent_hours") else ""
    off = "，其间网格停水，阈值自恢复供水起计" if ev.get("grid_water_off_at") else ""
    return f"独居老人住户 {who} {_fmt(ev.get('hours'))} 小时未用水{still}{off}{_basis(ev, lang)}"


@template("no_usage", "en")
def _no_usage_en(d: Decision, who: str, lang: str) -> str:
    ev = d.evidence
    if d.status == "resolved":
        return f"house {who}: water or the resident seen again after {_fmt(ev.get('hours'))} h"
    still = ", and no activity at home" if ev.get("activity_silent_hours") else ""
    off = ", the grid's water off meanwhile (the line counts from its return)" \
        if ev.get("grid_water_off_at") else ""
    return f"house {who}: no water for {_fmt(ev.get('hours'))} h{still}{off}{_basis(ev, lang)}"
