// The live board: fetch the view of one hierarchy node, re-render on each SSE alert.
"use strict";
(function () {
  const params = new URLSearchParams(location.search);
  const lang = params.get("lang") === "en" ? "en" : "zh-CN";
  const T = window.GW_I18N[lang];
  const SEV = ["red", "orange", "yellow", "blue"];
  let pending = null;

  function el(tag, attrs, ...kids) {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (k === "class") node.className = v;
      else if (k === "onclick") node.addEventListener("click", v);
      else node.setAttribute(k, v);
    }
    for (const kid of kids) node.append(kid instanceof Node ? kid : String(kid));
    return node;
  }

  function scope() {
    return decodeURIComponent(location.hash.slice(1)).split("/").filter(Boolean);
  }

  function go(path) {
    location.hash = path.map(encodeURIComponent).join("/");
  }

  function kindName(kind) { return T.kinds_names[kind] || kind; }

  function labels() {
    document.documentElement.lang = lang;
    document.title = T.title;
    document.getElementById("title").textContent = T.title;
    for (const id of ["children", "episodes", "recent", "kinds", "health"]) {
      document.getElementById("h-" + id).textContent = T[id];
    }
    const other = new URLSearchParams(location.search);
    if (lang === "en") other.delete("lang"); else other.set("lang", "en");
    const link = document.getElementById("lang");
    link.textContent = T.other;
    link.href = "?" + other.toString() + location.hash;
  }

  function crumbs(view) {
    const nav = document.getElementById("crumbs");
    nav.replaceChildren(el("a", {href: "#", onclick: (e) => { e.preventDefault(); go([]); }},
                           T.all));
    view.scope.forEach((id, i) => {
      const level = T.levels[["city", "district", "street", "community", "grid"][i]];
      nav.append(" › ", el("a", {href: "#", onclick: (e) => {
        e.preventDefault(); go(view.scope.slice(0, i + 1)); }}, level + " " + id));
    });
  }

  function totals(view) {
    const box = document.getElementById("totals");
    box.replaceChildren(...SEV.map((s) => el("div", {class: "tile " + s, "data-severity": s},
      el("span", {class: "n"}, view.open[s] || 0), el("span", {}, T.severities[s]))));
  }

  function chips(counts) {
    return SEV.filter((s) => counts[s]).map((s) => el("span", {class: "chip " + s}, counts[s]));
  }

  function children(view) {
    const box = document.getElementById("children");
    const level = view.child_level ? T.levels[view.child_level] : "";
    box.replaceChildren(...view.children.map((c) => el("button", {
      class: "child" + (c.total ? " hot" : ""), "data-id": c.id,
      onclick: () => go(view.scope.concat([c.id]))},
      el("span", {class: "name"}, level + " " + c.id + (c.name ? " · " + c.name : "")),
      ...chips(c.open))));
    if (!view.children.length) box.append(el("p", {class: "none"}, T.none));
  }

  function evidence(ev) {
    return Object.entries(ev || {}).map(([k, v]) =>
      k + "=" + (typeof v === "object" ? JSON.stringify(v) : v)).join("  ");
  }

  function alertItem(a) {
    return el("li", {class: "alert " + a.severity + " " + a.status, "data-alert-id": a.alert_id,
                     "data-seq": a.seq, "data-kind": a.kind},
      el("div", {class: "line"},
        el("span", {class: "sev " + a.severity}, T.severities[a.severity] || a.severity || "-"),
        el("span", {class: "kind"}, kindName(a.kind)),
        el("span", {class: "status"}, T.status[a.status] || a.status),
        el("span", {class: "grid"}, a.grid_id),
        el("time", {}, String(a.ts).slice(0, 16).replace("T", " "))),
      el("div", {class: "summary"}, a.summary || ""),
      el("div", {class: "evidence"}, evidence(a.evidence)));
  }

  function list(id, alerts) {
    const box = document.getElementById(id);
    box.replaceChildren(...alerts.map(alertItem));
    if (!alerts.length) box.append(el("li", {class: "none"}, T.none));
  }

  function spark(counts) {
    const ns = "http://www.w3.org/2000/svg";
    const svg = document.createElementNS(ns, "svg");
    const max = Math.max(1, ...counts);
    svg.setAttribute("viewBox", "0 0 120 30");
    svg.setAttribute("preserveAspectRatio", "none");
    svg.setAttribute("class", "spark");
    counts.forEach((n, i) => {
      const h = Math.max(n ? 2 : 0.5, (n / max) * 28);
      const bar = document.createElementNS(ns, "rect");
      for (const [k, v] of Object.entries({x: i * 5, y: 30 - h, width: 4, height: h})) {
        bar.setAttribute(k, v);
      }
      svg.append(bar);
    });
    return svg;
  }

  function kinds(view) {
    const box = document.getElementById("kinds");
    const rows = Object.entries(view.kinds).map(([kind, counts]) => el("div", {
      class: "kindrow", "data-kind": kind}, el("span", {class: "kname"}, kindName(kind)),
      spark(counts), el("span", {class: "total"}, counts.reduce((a, b) => a + b, 0))));
    box.replaceChildren(...rows);
    if (!rows.length) box.append(el("p", {class: "none"}, T.none));
  }

  function health(view) {
    const h = view.health || {};
    const table = document.getElementById("health");
    const head = el("tr", {}, ...T.health_cols.map((c) => el("th", {}, c)));
    const rows = (h.detectors || []).map((d) => el("tr", {"data-detector": d.name},
      el("td", {}, d.name),
      el("td", {}, d.us_per_event == null ? "-" : d.us_per_event.toFixed(1) + " µs"),
      el("td", {}, d.last_alert ? String(d.last_alert).slice(0, 16).replace("T", " ") : "-")));
    table.replaceChildren(head, ...rows);
    if (h.watermark_lag_s != null) {
      table.append(el("tr", {class: "lag"}, el("td", {}, T.lag),
                      el("td", {colspan: 2}, Math.round(h.watermark_lag_s) + " s")));
    }
  }

  function render(view) {
    crumbs(view); totals(view); children(view);
    list("episodes", view.episodes.slice(0, 20)); list("recent", view.recent);
    kinds(view); health(view);
    document.getElementById("clock").textContent =
      view.clock_ts ? String(view.clock_ts).slice(0, 16).replace("T", " ") : "";
    document.body.dataset.version = view.version;
  }

  // Responses may come back out of order (two clicks down the hierarchy, or a live
  // update racing a click): only the newest request's view is drawn.
  let asked = 0;
  async function refresh() {
    pending = null;
    const mine = ++asked;
    const res = await fetch("/api/state?scope=" + encodeURIComponent(scope().join("/")));
    const view = await res.json();
    if (mine === asked) render(view);
  }

  function soon() { if (!pending) pending = setTimeout(refresh, 150); }

  function listen() {
    const live = document.getElementById("live");
    const source = new EventSource("/api/events");
    source.onopen = () => { live.textContent = T.live; live.className = "live on"; soon(); };
    source.onerror = () => { live.textContent = T.offline; live.className = "live off"; };
    source.addEventListener("alert", soon);
  }

  labels();
  window.addEventListener("hashchange", refresh);
  refresh();
  listen();
})();
