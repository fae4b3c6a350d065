"""A known feed of alert updates for the board tests: a small city, several kinds."""

from __future__ import annotations

from typing import Any

from gridwatch.registry import Registry

GRIDS = [  # grid, community, street, district, name
    ("grid-0101", "c-01", "s-1", "d-1", "东风新村一网格"),
    ("grid-0102", "c-01", "s-1", "d-1", "东风新村二网格"),
    ("grid-0201", "c-02", "s-2", "d-1", "银浪三网格"),
    ("grid-0301", "c-03", "s-3", "d-2", "让胡路一网格"),
]
PATHS = {g: (c, s, d) for g, c, s, d, _ in GRIDS}


def registry() -> Registry:
    reg = Registry()
    for g, c, s, d, name in GRIDS:
        reg.put("grids", {"grid_id": g, "community_id": c, "street_id": s, "district_id": d,
                          "city_id": "daqing", "worker_id": "w-" + g[-4:], "police_id": "pol-1",
                          "name": name})
    return reg


def alert(n: int, kind: str, severity: str, grid: str, hour: int, summary: str,
          status: str = "firing", seq: int = 1, **evidence: Any) -> dict[str, Any]:
    """One update in the ``gw.alerts`` format (hour of 2026-11-22, +08:00)."""
    c, s, d = PATHS[grid]
    return {"alert_id": f"gw-{n:04d}", "seq": seq, "kind": kind, "status": status,
            "severity": severity, "subject": {"type": "person", "id": f"p-{n:05d}"},
            "grid": {"grid_id": grid, "community_id": c, "street_id": s, "district_id": d,
                     "city_id": "daqing"},
            "assignee": {"worker_id": "w-" + grid[-4:], "police_id": "pol-1"},
            "starts_at": f"2026-11-22T{hour:02d}:00:00+08:00",
            "ts": f"2026-11-22T{hour:02d}:00:00+08:00", "summary": summary,
            "evidence": evidence, "detector": {"name": "presence", "version": "1",
                                               "config_hash": "x"}}


def feed() -> list[dict[str, Any]]:
    """Eight updates: seven episodes, one of them resolved; one redelivered."""
    first = alert(1, "stay_in", "orange", "grid-0101", 6,
                  "独居老人 p-00001 进入后 36 小时未出门，期间无用水", hours=36, threshold_hours=24)
    return [
        first,
        alert(2, "sensor_threshold", "red", "grid-0101", 7, "烟感 sm-1001 报警", value=1),
        alert(3, "group_rental", "yellow", "grid-0102", 8, "房屋 h-0042 出入人数 14 人，登记 3 人",
              people=14, registered=3),
        alert(4, "crowd", "blue", "grid-0201", 9, "门禁 gate-07 一小时内 60 人，基线 12 人",
              people=60, baseline=12),
        alert(5, "device_offline", "yellow", "grid-0301", 10, "水表 wm-2001 离线 6 小时",
              hours=6),
        alert(6, "long_absent", "orange", "grid-0301", 11, "重点人员 p-00006 48 小时未出现",
              hours=48),
        first,  # at-least-once: a redelivery changes nothing
        alert(7, "no_usage", "yellow", "grid-0102", 12, "独居老人家庭 h-0007 12 小时未用水",
              hours=12),
        {**alert(2, "sensor_threshold", "red", "grid-0101", 12, "烟感 sm-1001 恢复正常",
                 status="resolved", seq=2, value=0)},
    ]
