// VirtualWire's web view: reads the JSON API (same address, same authentication: the browser's cookie goes
// along) and draws it with ECharts. Read-only. With window.VW_SNAPSHOT set (a saved report), draws that instead.
"use strict";

const API = "/api/v1/";
const POLL_MS = Number(new URLSearchParams(location.search).get("interval")) || 1000;
const STATE_COLOURS = { active: "#2e7d32", partial: "#ef6c00", pending: "#9e9e9e" };
const PHASE_COLOURS = { REQUESTED: "#b0bec5", PREPARED: "#90caf9", SWITCHING: "#ffb74d", SWITCHED: "#81c784",
                        COMPLETED: "#2e7d32", ABORTED: "#e57373" };
const BICAST_CONFIRMED = "switches confirmed the switching rules";
const SWITCHED_CONFIRMED = "switches confirmed the switched rules";

const topologyChart = echarts.init(document.getElementById("topology"));
const timelineChart = echarts.init(document.getElementById("timeline"));
let selectedWire = new URLSearchParams(location.search).get("wire") || (window.VW_SNAPSHOT || {}).selectedWire;
let structureKey = null;   // which nodes and edges are drawn: a new layout only when it changes
let positions = {};        // node id -> [x, y] from the last layout, so a redraw keeps the picture still
let renders = 0;

async function getJson(path) {
  const r = await fetch(API + path, { credentials: "same-origin", cache: "no-store" });
  if (!r.ok) throw new Error(`${path}: HTTP ${r.status}`);
  return r.json();
}

async function readFabric() {
  const [hypervisors, vms, wires, migrations] = await Promise.all(
    ["hypervisors", "vms", "wires", "migrations"].map(getJson));
  return { hypervisors, vms, wires, migrations };
}

// ---- the picture of the fabric: clouds containing hypervisors containing VMs; wires between NICs

function vmOfNic(ref) { return ref.split(":")[0]; }

/** Nodes, containment links and wires as ECharts graph data, plus the model the page exposes. */
function topologyModel(f) {
  const nodes = [], links = [], model = { nodes: [], wires: [] };
  const cloudOf = {};
  const clouds = [...new Set(f.hypervisors.map(h => h.cloud))].sort();
  const categories = clouds.map(c => ({ name: c }));
  const node = (id, type, parent, label, category, extra) => {
    nodes.push(Object.assign({ id, name: id, value: label, category, label: { show: true, formatter: label } }, extra));
    model.nodes.push({ id, type, parent, label });
  };
  for (const c of clouds) {
    node("cloud:" + c, "cloud", "", c, clouds.indexOf(c),
      { symbol: "roundRect", symbolSize: [78, 36], itemStyle: { borderColor: "#455a64", borderWidth: 2 },
        label: { show: true, formatter: c, fontWeight: "bold", color: "#fff" } });
  }
  for (const h of f.hypervisors) {
    cloudOf[h.name] = h.cloud;
    node("hv:" + h.name, "hypervisor", "cloud:" + h.cloud, h.name, clouds.indexOf(h.cloud),
      { symbol: "rect", symbolSize: [54, 22], itemStyle: { borderColor: h.connected ? "#263238" : "#d32f2f",
        borderWidth: h.connected ? 1 : 3, borderType: h.connected ? "solid" : "dashed" },
        connected: h.connected });
    links.push({ source: "cloud:" + h.cloud, target: "hv:" + h.name, containment: true, value: 10,
      lineStyle: { color: "#cfd8dc", width: 1 }, label: { show: false } });
  }
  const vmCloud = {};
  for (const vm of f.vms) {
    const appliance = vm.kind !== "vm";
    const hv = vm.hypervisor;
    vmCloud[vm.name] = hv ? cloudOf[hv] : null;
    node("vm:" + vm.name, appliance ? "appliance" : "vm", hv ? "hv:" + hv : "",
      vm.name + (appliance ? " (" + vm.kind + ")" : ""), hv ? clouds.indexOf(cloudOf[hv]) : 0,
      { symbol: appliance ? "diamond" : "circle", symbolSize: appliance ? 24 : 16 });
    if (hv) links.push({ source: "hv:" + hv, target: "vm:" + vm.name, containment: true, value: 10,
      lineStyle: { color: "#cfd8dc", width: 1 }, label: { show: false } });
  }
  for (const w of f.wires) {
    const a = vmOfNic(w.a), b = vmOfNic(w.b);
    const cross = vmCloud[a] != null && vmCloud[b] != null && vmCloud[a] !== vmCloud[b];
    const colour = STATE_COLOURS[w.state] || "#000";
    links.push({ source: "vm:" + a, target: "vm:" + b, wire: w.name, value: 1,
      lineStyle: { color: colour, opacity: 1, width: w.name === selectedWire ? 5 : 3, type: cross ? "dashed" : "solid", curveness: 0.15 },
      label: { show: true, formatter: w.name, color: colour } });
    model.wires.push({ name: w.name, a: w.a, b: w.b, state: w.state, colour, crossCloud: cross });
  }
  return { nodes, links, categories, model };
}

function drawTopology(f) {
  const t = topologyModel(f);
  const key = JSON.stringify([t.nodes.map(n => n.id), t.links.map(l => l.source + ">" + l.target)]);
  const relayout = key !== structureKey;
  // A structure seen before keeps its node positions (no new layout); a new one starts from the old ones.
  for (const n of t.nodes) {
    const p = positions[n.id];
    if (p) { n.x = p[0]; n.y = p[1]; }
    if (p && !relayout) n.fixed = true;
  }
  topologyChart.setOption({
    tooltip: { formatter: p => p.dataType === "edge" ? (p.data.wire ? "wire " + p.data.wire : "") : p.data.id },
    legend: { data: t.categories.map(c => c.name), top: 0 },
    series: [{
      type: "graph", layout: "force", roam: true, draggable: true, animation: false, zoom: 0.8,
      categories: t.categories, data: t.nodes, links: t.links,
      // Containment links (value 10) short, wires (value 1) long: each cloud's hypervisors and VMs stay together.
      force: { repulsion: 420, edgeLength: [35, 170], gravity: 0.06, layoutAnimation: false },
      edgeLabel: { fontSize: 10 },
    }],
  }, { notMerge: true });
  structureKey = key;
  const data = topologyChart.getModel().getSeriesByIndex(0).getData();
  data.each(i => { const l = data.getItemLayout(i); if (l) positions[data.getId(i)] = [l[0], l[1]]; });
  return t.model;
}

topologyChart.on("click", p => {
  if (p.dataType === "edge" && p.data.wire) { selectedWire = p.data.wire; refresh(); }
});

async function drawWireDetail(wires) {
  const box = document.getElementById("wire-detail");
  if (!selectedWire) return null;
  let w = wires.find(x => x.name === selectedWire);
  if (!w) { box.textContent = `wire ${selectedWire} no longer exists`; return null; }
  if (!window.VW_SNAPSHOT) {
    try { w = await getJson("wires/" + encodeURIComponent(selectedWire)); } catch (e) { /* keep the listed one */ }
  }
  const rows = [["wire", w.name], ["ends", w.a + " \u2194 " + w.b], ["tunnel key", w.tunnelKey],
    ["state", w.state + (w.reason ? " (" + w.reason + ")" : "")], ["switches", (w.switches || []).join(", ")],
    ["packets", w.packets], ["bytes", w.bytes]];
  box.innerHTML = "";
  const table = document.createElement("table");
  for (const [k, v] of rows) {
    const tr = table.insertRow();
    tr.insertCell().textContent = k;
    tr.insertCell().textContent = String(v);
  }
  box.appendChild(table);
  box.dataset.wire = w.name;
  box.dataset.state = w.state;
  return w;
}

// ---- migrations on a time axis: phases as bars, signals and confirmations as marks, and the figures

/** The controller's part, from the timeline (same definitions as the metrics): ms, or null. */
function figures(m) {
  const t = m.timeline;
  const span = (isStart, isEnd) => {
    const i = t.findIndex(isStart);
    if (i < 0) return null;
    const j = t.findIndex((e, k) => k >= i && isEnd(e) && e.monoNanos >= t[i].monoNanos);
    return j < 0 ? null : (t[j].monoNanos - t[i].monoNanos) / 1e6;
  };
  return {
    pauseToBicastMs: span(e => e.phase === "SWITCHING", e => e.event.startsWith(BICAST_CONFIRMED)),
    resumeToSwitchedMs: span(e => e.phase === "SWITCHED", e => e.event.startsWith(SWITCHED_CONFIRMED)),
    totalMs: t.length ? t[t.length - 1].atMs : 0,
  };
}

function phaseSegments(m) {
  const segs = [];
  const t = m.timeline;
  for (let i = 0; i < t.length; i++) {
    const last = segs[segs.length - 1];
    if (!last || last.phase !== t[i].phase) {
      if (last) last.end = t[i].atMs;
      segs.push({ phase: t[i].phase, start: t[i].atMs, end: t[i].atMs });
    }
  }
  if (segs.length) segs[segs.length - 1].end = Math.max(segs[segs.length - 1].end, t[t.length - 1].atMs);
  return segs;
}

function drawMigrations(migrations, extraFigures) {
  const shown = migrations.slice(0, 8).reverse();   // the newest on top
  const rows = shown.map(m => `${m.vm} ${m.from}\u2192${m.to} (${m.id})`);
  const bars = [], signals = [], confirmations = [];
  shown.forEach((m, row) => {
    for (const s of phaseSegments(m)) bars.push({ value: [row, s.start, Math.max(s.end, s.start + 0.05), s.phase] });
    for (const e of m.timeline) {
      const point = { value: [e.atMs, row], event: e.event, origin: e.origin, phase: e.phase };
      (e.origin === "controller" ? confirmations : signals).push(point);
    }
  });
  timelineChart.setOption({
    animation: false,
    tooltip: { formatter: p => p.seriesName === "phase" ? p.data.value[3] + ": " + p.data.value[1] + "-" + p.data.value[2] + " ms"
      : `${p.data.value[0]} ms, ${p.data.origin}: ${p.data.event}` },
    grid: { left: 230, right: 30, top: 30, bottom: 40 },
    legend: { data: ["phase", "signal", "confirmation"], top: 0 },
    xAxis: { type: "value", name: "ms after the request", nameLocation: "middle", nameGap: 25 },
    yAxis: { type: "category", data: rows },
    series: [
      { name: "phase", type: "custom", data: bars, encode: { x: [1, 2], y: 0 },
        renderItem: (params, api) => {
          const start = api.coord([api.value(1), api.value(0)]), end = api.coord([api.value(2), api.value(0)]);
          const h = api.size([0, 1])[1] * 0.5;
          const width = Math.max(end[0] - start[0], 2);
          const phase = String(api.value(3));
          return { type: "group", children: [
            { type: "rect", shape: { x: start[0], y: start[1] - h / 2, width, height: h },
              style: { fill: PHASE_COLOURS[phase] || "#ccc" } },
            { type: "text", silent: true, style: { text: width > 40 ? phase.toLowerCase() : "", x: start[0] + 4,
              y: start[1] - h / 2 + 3, fill: "#263238", fontSize: 10 } }] };
        } },
      { name: "signal", type: "scatter", data: signals, symbol: "circle", symbolSize: 9, itemStyle: { color: "#1565c0" } },
      { name: "confirmation", type: "scatter", data: confirmations, symbol: "triangle", symbolSize: 10, itemStyle: { color: "#263238" } },
    ],
  }, { notMerge: true });
  const box = document.getElementById("figures");
  box.innerHTML = "";
  const out = [];
  if (migrations.length) {
    const table = document.createElement("table");
    const head = table.insertRow();
    for (const h of ["migration", "phase", "pause signal \u2192 bicast confirmed", "resume signal \u2192 switched confirmed", "timeline span"]) {
      const th = document.createElement("th"); th.textContent = h; head.appendChild(th);
    }
    for (const m of migrations.slice(0, 8)) {
      const f = figures(m);
      const ms = v => v == null ? "-" : v.toFixed(2) + " ms";
      const tr = table.insertRow();
      for (const v of [m.id + " (" + m.vm + " " + m.from + "\u2192" + m.to + ")", m.phase, ms(f.pauseToBicastMs), ms(f.resumeToSwitchedMs), ms(f.totalMs)]) {
        tr.insertCell().textContent = v;
      }
      out.push(Object.assign({ id: m.id, vm: m.vm, phase: m.phase, entries: m.timeline.length }, f));
    }
    box.appendChild(table);
  } else {
    box.textContent = "No migration yet.";
  }
  if (extraFigures) {
    const table = document.createElement("table");
    table.id = "report-figures";
    for (const [k, v] of Object.entries(extraFigures)) {
      const tr = table.insertRow(); tr.insertCell().textContent = k; tr.insertCell().textContent = String(v);
    }
    box.appendChild(document.createElement("h2")).textContent = "Measured by the harness (its own pause and resume instants, its probe)";
    box.appendChild(table);
  }
  return out;
}

// ---- the rendered state as data attributes (for tests and tools)

function expose(model, migrations, wire) {
  const root = document.getElementById("model");
  const items = [];
  for (const n of model.nodes) items.push({ node: n.id, type: n.type, parent: n.parent, label: n.label });
  for (const w of model.wires) items.push({ wire: w.name, a: w.a, b: w.b, state: w.state, colour: w.colour, crossCloud: w.crossCloud });
  for (const m of migrations) items.push({ migration: m.id, vm: m.vm, phase: m.phase, entries: m.entries,
    pauseToBicastMs: m.pauseToBicastMs, resumeToSwitchedMs: m.resumeToSwitchedMs });
  root.replaceChildren(...items.map(it => {
    const el = document.createElement("i");
    for (const [k, v] of Object.entries(it)) el.dataset[k] = v == null ? "" : String(v);
    return el;
  }));
  document.body.dataset.selectedWire = wire ? wire.name : "";
  document.body.dataset.renders = String(++renders);
}

async function refresh() {
  const status = document.getElementById("status");
  try {
    const f = window.VW_SNAPSHOT || await readFabric();
    const model = drawTopology(f);
    const wire = await drawWireDetail(f.wires);
    const migrations = drawMigrations(f.migrations, f.figures);
    expose(model, migrations, wire);
    status.textContent = window.VW_SNAPSHOT ? "report of " + f.takenAt
      : `updated ${new Date().toLocaleTimeString()}: ${f.hypervisors.length} hypervisors, ${f.vms.length} VMs, ${f.wires.length} wires`;
    document.body.dataset.error = "";
  } catch (e) {
    status.textContent = "cannot read the API: " + e.message;
    document.body.dataset.error = e.message;
  }
}

async function loop() {
  await refresh();
  if (!window.VW_SNAPSHOT) setTimeout(loop, POLL_MS);
}
window.addEventListener("resize", () => { topologyChart.resize(); timelineChart.resize(); });
loop();
