"""The 1-2 page report: charts, HTML with the targets and limitations, and a PDF via chromium."""

from __future__ import annotations

import base64
import shutil
import subprocess
from html import escape
from pathlib import Path

from spendsense.eval import charts
from spendsense.eval.coverage import BEHAVIOURS, MIN_BEHAVIOURS
from spendsense.eval.fairness import ALPHA, FOUR_FIFTHS, MIN_GROUP
from spendsense.eval.result import EvalResult, Metric, _fmt

MAX_LISTED = 10
CHROMIUM_CANDIDATES = ("chromium", "chromium-browser", "google-chrome")
CSS = """
body{font-family:Helvetica,Arial,sans-serif;font-size:9.5pt;margin:1.2cm;color:#222}
h1{font-size:15pt;margin:0 0 2pt} h2{font-size:11pt;margin:10pt 0 3pt;border-bottom:1px solid #ccc}
table{border-collapse:collapse;width:100%;font-size:8pt} td,th{padding:1.5pt 4pt;text-align:left}
tr:nth-child(even){background:#f4f4f4} td.num{white-space:nowrap} .pass{color:#1a7f37;font-weight:bold}
.fail{color:#c62828;font-weight:bold} .untested{color:#8a5a00;font-weight:bold} .muted{color:#666;font-size:8pt}
.charts{display:grid;grid-template-columns:1fr 1fr;gap:6pt} .charts img{width:100%}
ul{margin:2pt 0 2pt 14pt;padding:0} li{margin:1pt 0}
@page{size:A4;margin:0}
"""

LIMITATIONS = (
    "Synthetic population: agreement and accuracy measure the pipeline against the generator's "
    "intent, not against real customers.",
    "Explainability checks that a cited number equals a stored feature after the same rounding; it "
    "cannot tell whether the number is the most relevant one.",
    "Relevance uses the catalog's own persona tags: a mis-tagged item counts as a fit.",
    "Latency is measured on a copy of the data on this 2-core machine; batch throughput comes from "
    "the newest pipeline_runs row (ledger loading excluded).",
    f"Fairness tests each group against the rest (two-proportion z-test); groups with n < {MIN_GROUP} "
    f"or p >= {ALPHA} are shown but not read as violations. Many groups × outcomes are tested, so a "
    "few p < 0.05 are expected by chance.",
    "Persona-rate gaps are descriptive: personas follow finances, which differ by income tier by design.",
)


def _verdict(m: Metric) -> str:
    css = {"PASS": "pass", "FAIL": "fail", "not tested": "untested"}.get(m.verdict)
    return f'<span class="{css}">{m.verdict}</span>' if css else ""


def _targets_table(result: EvalResult) -> str:
    rows = "".join(
        f"<tr><td>{escape(m.group)}</td><td>{escape(m.name)}</td><td class=num>{_fmt(m.value, m.unit)}</td>"
        f"<td class=num>{escape(m.op)} {_fmt(m.target, m.unit)}</td><td>{m.n}</td><td>{_verdict(m)}</td>"
        f"<td class=muted>{escape(m.note)}</td></tr>"
        for m in result.targets
    )
    head = "<tr><th>area</th><th>metric</th><th>value</th><th>target</th><th>n</th><th></th><th>how</th></tr>"
    return f"<table>{head}{rows}</table>"


def _info_table(result: EvalResult) -> str:
    cells = [
        f"<td>{escape(m.group)}.{escape(m.name)}</td><td class=num>{_fmt(m.value, m.unit)}</td>"
        for m in result.metrics
        if m.op == "info"
    ]
    pairs = ["".join(cells[i : i + 2]) for i in range(0, len(cells), 2)]
    return "<table>" + "".join(f"<tr>{p}</tr>" for p in pairs) + "</table>"


def _fairness_list(result: EvalResult) -> str:
    flagged = [
        r
        for r in result.details.get("fairness", {}).get("below_four_fifths", [])
        if r["outcome"] == "offer"
    ]
    offers = [m for m in result.metrics if m.name.startswith("offer_significant_violations_")]
    if offers and all(m.value is None for m in offers):
        return "<p>No offers are stored, so offer fairness was not measured.</p>"
    if not flagged:
        return "<p>No group's offer rate is below four-fifths of the best group's.</p>"
    flagged.sort(key=lambda r: (not r["reliable"], r["attribute"], str(r["group"])))
    more = len(flagged) - MAX_LISTED
    flagged = flagged[:MAX_LISTED]
    items = "".join(
        f"<li><b>{escape(str(r['attribute']))} = {escape(str(r['group']))}</b> (n={r['n']}, rate "
        f"{_fmt(r['rate'], '%')}, ratio {_fmt(r['ratio'], '')}, p={_fmt(r['p_value'], '')}) — "
        f"{'significant' if r['reliable'] else 'not significant: do not over-read'}; likely cause: "
        f"{escape(str(r['cause']))}</li>"
        for r in flagged
    )
    tail = f"<li>… and {more} more in metrics.json</li>" if more > 0 else ""
    return f"<ul>{items}{tail}</ul>"


def _fairness_power(result: EvalResult) -> str:
    """How many groups were big enough to test, which were not, and the gap the tests can see."""
    fair = result.details.get("fairness", {})
    groups = [g for g in fair.get("groups", []) if g["outcome"] == "offer"]
    if not groups:
        return ""
    tested = [g for g in groups if g.get("tested")]
    gaps = [g["detectable_gap"] for g in tested if g.get("detectable_gap") is not None]
    text = f"{len(tested)} of {len(groups)} groups have n ≥ {MIN_GROUP} and were tested."
    if gaps:
        text += (
            f" With these sizes a gap in offer rate is detected (80% power, α = {ALPHA}) only when"
            f" it is at least {min(gaps) * 100:.0f} points (largest group) to"
            f" {max(gaps) * 100:.0f} points (smallest tested group)."
        )
    untested = fair.get("untested_groups") or []
    if untested:
        text += " Not tested (too few users): " + ", ".join(untested) + "."
    return f"<p>{escape(text)}</p>"


def _persona_gaps(result: EvalResult) -> str:
    rows = result.details.get("fairness", {}).get("below_four_fifths", [])
    sig = [r for r in rows if r["outcome"].startswith("persona_") and r["reliable"]]
    if not sig:
        return (
            "<p>Persona rates: no group is significantly below four-fifths of the best group.</p>"
        )
    items = "".join(
        f"<li>{escape(str(r.get('outcome_name') or r['outcome']))} for <b>{escape(str(r['attribute']))} = "
        f"{escape(str(r['group']))}</b> (n={r['n']}, ratio {_fmt(r['ratio'], '')}, "
        f"p={_fmt(r['p_value'], '')}): {escape(str(r['cause']))}</li>"
        for r in sig[:MAX_LISTED]
    )
    return f"<p>Persona rates (descriptive, no target), significant gaps:</p><ul>{items}</ul>"


def _img(path: Path) -> str:
    data = base64.b64encode(path.read_bytes()).decode()
    return f'<img alt="{escape(path.stem)}" src="data:image/png;base64,{data}">'


def render_html(result: EvalResult, images: list[Path]) -> str:
    """The report as one self-contained HTML page (charts embedded)."""
    behaviours = "".join(f"<li><b>{b[0]}</b>: {escape(b[3])}</li>" for b in BEHAVIOURS)
    passed = sum(1 for m in result.targets if m.passed)
    notes = "".join(f"<li>{escape(n)}</li>" for n in result.notes)
    limits = "".join(f"<li>{escape(t)}</li>" for t in LIMITATIONS)
    return f"""<!doctype html><html><head><meta charset="utf-8"><title>SpendSense evaluation</title>
<style>{CSS}</style></head><body>
<h1>SpendSense evaluation</h1>
<div class=muted>As of {escape(str(result.as_of_date))}; {result.details.get("consented_users", 0)}
consented users; windows {result.details.get("windows")}. {passed}/{len(result.targets)} targets met.
Every number is recomputed from the stored SQLite/Parquet outputs.</div>
<h2>Targets</h2>{_targets_table(result)}
<h2>Other measurements (no target)</h2>{_info_table(result)}
<h2>Charts</h2><div class=charts>{"".join(_img(p) for p in images)}</div>
<h2>Definitions</h2>
<p>A consented user is <b>covered</b> in a window when they have a persona assignment (ASSIGNED, or
STABLE when no persona matches; the two are reported apart) and at least {MIN_BEHAVIOURS} of these
behaviours are detected in that window. Users without an assignment are never covered:</p><ul>{behaviours}</ul>
<h2>Fairness (offers, {result.details.get("fairness", {}).get("window_days")}-day window)</h2>
<p class=muted>A group fails when its offer rate is below {FOUR_FIFTHS} × the best group's rate, it has
n ≥ {MIN_GROUP} and p &lt; {ALPHA} against the rest.</p>{_fairness_power(result)}{_fairness_list(result)}{_persona_gaps(result)}
<h2>Limitations</h2><ul>{limits}</ul>
<h2>Notes</h2><ul class=muted>{notes}</ul>
</body></html>
"""


def make_charts(result: EvalResult, out: Path) -> list[Path]:
    """Write the PNG charts that the frames allow; note any that cannot be drawn."""
    out.mkdir(parents=True, exist_ok=True)
    frames = result.frames
    try:
        paths = [
            charts.persona_mix(frames["persona_mix"], out / "persona_mix.png"),
            charts.coverage(frames["coverage_counts"], out / "coverage.png"),
            charts.fairness(frames["fairness_rates"], out / "fairness.png"),
        ]
        p50, p95 = result.get("latency", "per_user_p50"), result.get("latency", "per_user_p95")
        paths.append(charts.latency(frames["latency"], p50.value, p95.value, out / "latency.png"))
    except ImportError:
        result.notes.append(
            "matplotlib is not installed: report has no charts (pip install spendsense[report])"
        )
        return []
    return paths


def find_chromium() -> str | None:
    """Path of a headless-capable chromium, if installed."""
    for name in CHROMIUM_CANDIDATES:
        found = shutil.which(name)
        if found:
            return found
    return None


def html_to_pdf(html_path: Path, pdf_path: Path, timeout: float = 120) -> str | None:
    """Print the HTML to PDF with headless chromium; return a reason when that is not possible."""
    browser = find_chromium()
    if browser is None:
        return (
            "chromium not found: no report.pdf (apt-get install chromium), open report.html instead"
        )
    cmd = [browser, "--headless", "--no-sandbox", "--disable-gpu", "--no-pdf-header-footer",
           f"--print-to-pdf={pdf_path}", html_path.resolve().as_uri()]  # fmt: skip
    try:
        done = subprocess.run(cmd, capture_output=True, timeout=timeout, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"chromium failed: {exc}"
    if done.returncode != 0 or not pdf_path.exists():
        return f"chromium exited {done.returncode}: {done.stderr.decode(errors='replace')[-200:]}"
    return None


def render_outputs(result: EvalResult, out: Path, *, pdf: bool = True) -> None:
    """Charts, report.html and (when chromium is there) report.pdf under ``out``."""
    images = make_charts(result, out / "charts")
    html_path = out / "report.html"
    html_path.write_text(render_html(result, images))
    result.files["report.html"] = str(html_path)
    for image in images:
        result.files[f"charts/{image.name}"] = str(image)
    pdf_path = out / "report.pdf"
    pdf_path.unlink(missing_ok=True)  # never an older PDF beside a newer report.html
    if pdf:
        problem = html_to_pdf(html_path, pdf_path)
        if problem:
            result.notes.append(problem)
        else:
            result.files["report.pdf"] = str(pdf_path)
