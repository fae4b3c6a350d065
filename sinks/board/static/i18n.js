// Labels of the board: zh-CN by default, English with ?lang=en.
window.GW_I18N = {
  "zh-CN": {
    title: "网格风险态势 · 一屏统览", all: "全部", live: "实时", offline: "连接中断",
    children: "下级", episodes: "未处置事件", recent: "最新预警", kinds: "近24小时各类预警",
    health: "检测器状态", other: "English", none: "暂无",
    levels: {city: "市", district: "区", street: "街道", community: "社区", grid: "网格"},
    severities: {red: "红色", orange: "橙色", yellow: "黄色", blue: "蓝色"},
    status: {firing: "预警中", resolved: "已解除"},
    health_cols: ["检测器", "每事件耗时", "最近预警"], lag: "水位线滞后",
    kinds_names: {
      long_absent: "久未出现", stay_in: "久居未出", out_no_return: "久出未归",
      unusual_hours: "昼伏夜出", crowd: "人员聚集", group_rental: "群租",
      event_cluster: "事件聚集", sensor_threshold: "传感越限", sensor_anomaly: "用量异常",
      no_usage: "用水看护", device_offline: "设备离线"}
  },
  en: {
    title: "Grid risk board", all: "All", live: "live", offline: "disconnected",
    children: "Below", episodes: "Open episodes", recent: "Newest alerts",
    kinds: "Alerts per kind, last 24 h", health: "Detector health", other: "中文",
    none: "none",
    levels: {city: "City", district: "District", street: "Street", community: "Community",
             grid: "Grid"},
    severities: {red: "Red", orange: "Orange", yellow: "Yellow", blue: "Blue"},
    status: {firing: "firing", resolved: "resolved"},
    health_cols: ["Detector", "Time per event", "Last alert"], lag: "watermark lag",
    kinds_names: {
      long_absent: "Long absent", stay_in: "Stayed in", out_no_return: "Out, no return",
      unusual_hours: "Unusual hours", crowd: "Crowd", group_rental: "Group rental",
      event_cluster: "Event cluster", sensor_threshold: "Sensor threshold",
      sensor_anomaly: "Sensor anomaly", no_usage: "No water use",
      device_offline: "Device offline"}
  }
};
