"""HTML reports that open anywhere, without a controller: one self-contained file each, drawn with the ECharts
WebJar and (for the fabric) the controller's own web view, both read from the controller's jar.

- fabric_report: the web view's page with a saved snapshot of the API (topology picture, wires, each
  migration's timeline plot) and the harness's figures (`./vw demo`).
- bench_report: per-run figures of `./vw bench migration` as plots, with the summary table beside them.
"""
import datetime
import html
import json
import os
import re
import zipfile

from .controller import JAR

ECHARTS = re.compile(r"META-INF/resources/webjars/echarts/[^/]+/dist/echarts\.min\.js")


def _jar_text(name_or_pattern):
    with zipfile.ZipFile(JAR) as jar:
        if isinstance(name_or_pattern, str):
            return jar.read(name_or_pattern).decode()
        name = next(n for n in jar.namelist() if name_or_pattern.fullmatch(n))
        return jar.read(name).decode()


def _script(code):
    return "<script>" + code.replace("</script", "<\\/script") + "</script>"


def _json(value):
    return json.dumps(value).replace("</", "<\\/")


def snapshot(ctl, figures=None, wire=None):
    """What the web view reads from the API, now, plus the harness's figures ({name: value}); `wire`: the wire
    whose detail the report shows."""
    return {"selectedWire": wire, "hypervisors": ctl.api("GET", "hypervisors"), "vms": ctl.api("GET", "vms"),
            "wires": ctl.api("GET", "wires"), "migrations": ctl.api("GET", "migrations"),
            "figures": figures or {}, "takenAt": datetime.datetime.now().isoformat(timespec="seconds")}


def fabric_report(path, snap, title="VirtualWire report"):
    """The web view's own page, its script and library inlined, drawing `snap` instead of polling."""
    page = _jar_text("ui/index.html")
    page = page.replace("<title>VirtualWire</title>", f"<title>{html.escape(title)}</title>")
    page = page.replace('<link rel="stylesheet" href="/ui/style.css">', "<style>" + _jar_text("ui/style.css") + "</style>")
    page = page.replace('<script src="/ui/lib/echarts.min.js"></script>', _script(_jar_text(ECHARTS)))
    page = page.replace('<script src="/ui/app.js"></script>',
                        _script("window.VW_SNAPSHOT = " + _json(snap) + ";") + _script(_jar_text("ui/app.js")))
    page = page.replace("<h1>VirtualWire</h1>", f"<h1>{html.escape(title)}</h1>")
    return _write(path, page)


# The per-run figures plotted (ms), and the counts.
BENCH_MS = ["lost_window_ms", "blackout_ms", "pause_ms", "network_added_ms", "pause_to_bicast_ms",
            "resume_to_switched_ms", "resume_to_first_frame_ms"]
BENCH_COUNTS = ["lost", "late", "duplicates"]


def bench_report(path, out, title="VirtualWire: ./vw bench migration"):
    """`out` is bench_migration's result: runs, summary, baselines, baseline_runs."""
    variants = {"VirtualWire": out.get("runs", [])}
    variants.update({f"baseline {b}": r for b, r in out.get("baseline_runs", {}).items()})
    rows = []
    for name, summary in [("VirtualWire", out.get("summary", {}))] + [(f"baseline {b}", s) for b, s in out.get("baselines", {}).items()]:
        for k, s in summary.items():
            if s is not None:
                rows.append(f"<tr><td>{html.escape(name)}</td><td>{k}</td>"
                            + "".join(f"<td>{s[q]:.2f}</td>" for q in ("min", "median", "p95", "max")) + "</tr>")
    page = f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title>
<style>body {{ font-family: system-ui, sans-serif; margin: 1em; color: #222; }}
.chart {{ height: 380px; }} table {{ border-collapse: collapse; font-size: .9em; }}
td, th {{ padding: .15em .6em; border-bottom: 1px solid #eee; text-align: right; }} td:first-child, td:nth-child(2) {{ text-align: left; }}
</style>{_script(_jar_text(ECHARTS))}</head>
<body><h1>{html.escape(title)}</h1>
<p>{len(out.get("runs", []))} runs, emulated stop-and-copy {out.get("pause_ms", "-")} ms. Every figure is defined in the
README ("Figures for migrations"); VirtualWire solid, baselines dashed.</p>
<h2>Per run: durations (ms)</h2><div id="ms" class="chart"></div>
<h2>Per run: requests lost, late, duplicated</h2><div id="counts" class="chart"></div>
<h2>Summary (min / median / p95 / max over the runs)</h2>
<table><tr><th>variant</th><th>figure</th><th>min</th><th>median</th><th>p95</th><th>max</th></tr>{"".join(rows)}</table>
{_script("const VARIANTS = " + _json(variants) + "; const MS = " + _json(BENCH_MS) + "; const COUNTS = " + _json(BENCH_COUNTS) + ";")}
{_script(BENCH_PLOT)}
</body></html>"""
    return _write(path, page)


BENCH_PLOT = r"""
function plot(id, keys, kind) {
  const series = [];
  let runs = 0;
  for (const [variant, rs] of Object.entries(VARIANTS)) {
    runs = Math.max(runs, rs.length);
    for (const k of keys) {
      if (!rs.some(r => r[k] != null)) continue;
      series.push({ name: `${variant}: ${k}`, type: kind, data: rs.map(r => r[k] == null ? null : r[k]),
                    lineStyle: { type: variant === "VirtualWire" ? "solid" : "dashed" }, connectNulls: false });
    }
  }
  const chart = echarts.init(document.getElementById(id));
  chart.setOption({ animation: false, tooltip: { trigger: "axis" }, legend: { type: "scroll", top: 0 },
    grid: { top: 50, left: 60, right: 20, bottom: 40 },
    xAxis: { type: "category", name: "run", data: Array.from({ length: runs }, (_, i) => String(i + 1)) },
    yAxis: { type: "value" }, series });
  document.getElementById(id).dataset.series = String(series.length);
}
plot("ms", MS, "line");
plot("counts", COUNTS, "bar");
"""


def _write(path, page):
    path = os.path.abspath(path)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        f.write(page)
    return path
