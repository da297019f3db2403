"""The outcomes report as a workbook and as one self-contained HTML page (plots as inline SVG:
no script, no external file, no plotting library), both rendered from the suppressed `Report`.
"""

from __future__ import annotations

import html
from pathlib import Path
from typing import Any

from openpyxl import Workbook  # type: ignore[import-untyped]

from kb.outcomes.analysis import AssertionStats, Report
from kb.outcomes.stats import KmCurve

SUPPRESSED = "suppressed"


def _pct(value: float | None) -> str:
    return "" if value is None else f"{100 * value:.1f}%"


def _count(value: int | None, k: int) -> str:
    return f"<{k}" if value is None else str(value)


def report_lines(report: Report) -> list[str]:
    """The report as text lines (the CLI's rendition)."""
    k = report.k
    lines = [
        f"outcomes: {_count(report.episodes, k)} episode(s), {_count(report.patients, k)} "
        f"patient(s), {_count(report.sites, k)} site(s), {report.imports} import(s); k = {k}",
        f"{'assertion':<10} {'level':<5} {'patients':>8} {'eval':>6} {'ORR':>7} "
        f"{'95% CI':>15} {'PD':>7} {'ToT median':>10}  expected",
    ]
    for a in report.assertions:
        if a.suppressed:
            lines.append(f"{a.assertion:<10} {a.level or '':<5} {'<' + str(k):>8}  ({SUPPRESSED})")
            continue
        ci = f"{_pct(a.response_ci[0])}-{_pct(a.response_ci[1])}" if a.response_ci else ""
        km = a.time_on_treatment
        median = "" if km is None or km.median is None else f"{km.median:.0f} d"
        expected = ""
        if a.expectation and a.expectation.min_response_rate is not None:
            expected = (
                f"ORR >= {_pct(a.expectation.min_response_rate)}, "
                f"PD <= {_pct(a.expectation.max_progression_rate)}"
            )
        lines.append(
            f"{a.assertion:<10} {a.level or '':<5} {a.patients:>8} {a.evaluable:>6} "
            f"{_pct(a.response_rate):>7} {ci:>15} {_pct(a.progression_rate):>7} {median:>10}  "
            f"{expected}"
        )
    if report.off_label:
        lines.append("used without an assertion (>= k patients):")
        for use in report.off_label:
            lines.append(f"  {use.biomarkers} | {use.therapy}: {use.patients} patients")
    lines.append(
        f"findings: {len(report.findings)} ({report.tests_run} assertion(s) tested at "
        f"alpha {report.alpha} / {max(1, report.tests_run)})"
    )
    return lines


def write_xlsx(report: Report, path: Path) -> None:
    """Sheets: Assertions, Time on treatment, Off-label, Findings, About."""
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "Assertions"
    k = report.k
    sheet.append(
        ["Assertion", "Therapy", "Level", "Implication", "Patients", "Episodes", "Evaluable",
         "CR", "PR", "SD", "PD", "NE", "Response rate", "95% low", "95% high",
         "Progression rate", "ToT median (days)", "ToT median 95% low", "ToT median 95% high",
         "Expected min response", "Expected max progression", "Expectation basis",
         "Response p", "Progression p"]
    )  # fmt: skip
    for a in report.assertions:
        if a.suppressed:
            sheet.append([a.assertion, a.therapy, a.level, a.implication, f"<{k}"])
            continue
        km = a.time_on_treatment
        exp = a.expectation
        sheet.append(
            [a.assertion, a.therapy, a.level, a.implication, a.patients, a.episodes, a.evaluable,
             *(_count(a.response_counts.get(r), k) for r in ("CR", "PR", "SD", "PD", "NE")),
             a.response_rate, *(a.response_ci or (None, None)), a.progression_rate,
             km.median if km else None, km.median_lower if km else None,
             km.median_upper if km else None,
             exp.min_response_rate if exp else None, exp.max_progression_rate if exp else None,
             exp.basis if exp else None, a.response_p_value, a.progression_p_value]
        )  # fmt: skip
    curves = book.create_sheet("Time on treatment")
    curves.append(["Assertion", "Day", "At risk", "Stopped", "On treatment", "95% low", "95% high"])
    for a in report.assertions:
        if a.time_on_treatment is None:
            continue
        for p in a.time_on_treatment.points:
            curves.append([a.assertion, p.time, p.at_risk, p.events, p.survival, p.lower, p.upper])
    off = book.create_sheet("Off-label")
    off.append(["Biomarkers", "Therapy", "Patients", "Episodes", "Responders", "Evaluable"])
    for use in report.off_label:
        off.append([use.biomarkers, use.therapy, use.patients, use.episodes,
                    _count(use.responders, k), use.evaluable])  # fmt: skip
    found = book.create_sheet("Findings")
    found.append(["Kind", "Subject", "Test", "p value", "Numbers"])
    for f in report.findings:
        found.append([f.kind.value, f.subject, str(f.numbers.get("test")),
                      f.numbers.get("p_value"), _numbers_text(f.numbers)])  # fmt: skip
    about = book.create_sheet("About")
    for row in (
        ("Generated", report.generated_at),
        ("Small-cell threshold k", k),
        ("Suppression", f"figures from fewer than {k} patients are withheld (<{k})"),
        ("Tests", f"{report.tests_run} assertion(s) tested, alpha {report.alpha} Bonferroni"),
    ):
        about.append(list(row))
    for ws in book.worksheets:
        for row in ws.iter_rows():
            for cell in row:
                # Text never becomes a formula (a biomarker or therapy could start with "=").
                if isinstance(cell.value, str) and cell.value[:1] in ("=", "+", "-", "@"):
                    cell.data_type = "s"
    book.save(path)


def _numbers_text(numbers: Any) -> str:
    return ", ".join(f"{k}={v}" for k, v in numbers.items() if k not in ("test",))


# --- HTML + SVG --------------------------------------------------------------------------------

_STYLE = """
body{font-family:system-ui,sans-serif;margin:2em;color:#222;max-width:1100px}
table{border-collapse:collapse;font-size:13px}th,td{border:1px solid #ccc;padding:3px 6px}
th{background:#f3f3f3}td.n{text-align:right}.sup{color:#888;font-style:italic}
.alert{background:#fff4e5}.kms{display:flex;flex-wrap:wrap;gap:8px}
svg text{font-size:10px;font-family:system-ui,sans-serif}
"""


def write_html(report: Report, path: Path) -> None:
    """One self-contained page: summary, response chart, KM curves, tables, findings."""
    path.write_text(render_html(report), encoding="utf-8")


def render_html(report: Report) -> str:
    k = report.k
    esc = html.escape
    alerted = {f.subject for f in report.findings}
    parts = [
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>",
        "<title>Outcomes report</title>",
        f"<style>{_STYLE}</style></head><body>",
        "<h1>Real-world outcomes per assertion</h1>",
        f"<p>{_count(report.episodes, k)} episodes, {_count(report.patients, k)} patients, "
        f"{_count(report.sites, k)} sites, {report.imports} imports. Generated "
        f"{esc(report.generated_at)}. Figures from fewer than {k} patients are suppressed "
        f"(shown as &lt;{k}).</p>",
        "<h2>Response rate by assertion</h2>",
        _response_chart(report),
        "<h2>Findings</h2>",
    ]
    if report.findings:
        parts.append("<table><tr><th>Kind</th><th>Subject</th><th>Test</th><th>Numbers</th></tr>")
        for f in report.findings:
            parts.append(
                f"<tr class='alert'><td>{esc(f.kind.value)}</td><td>{esc(f.subject)}</td>"
                f"<td>{esc(str(f.numbers.get('test')))}</td>"
                f"<td>{esc(_numbers_text(f.numbers))}</td></tr>"
            )
        parts.append("</table>")
    else:
        parts.append("<p>No divergence found.</p>")
    parts.append("<h2>Assertions</h2><table><tr><th>Assertion</th><th>Therapy</th>"
                 "<th>Level</th><th>Patients</th><th>Evaluable</th><th>ORR (95% CI)</th>"
                 "<th>PD rate</th><th>ToT median (95% CI)</th><th>Expected</th></tr>")  # fmt: skip
    for a in report.assertions:
        cls = " class='alert'" if a.assertion in alerted else ""
        if a.suppressed:
            parts.append(
                f"<tr><td>{esc(a.assertion)}</td><td>{esc(a.therapy or '')}</td>"
                f"<td>{esc(a.level or '')}</td><td class='n sup'>&lt;{k}</td>"
                f"<td colspan='5' class='sup'>suppressed</td></tr>"
            )
            continue
        ci = a.response_ci
        km = a.time_on_treatment
        median = ""
        if km is not None and km.median is not None:
            median = f"{km.median:.0f} d ({_days(km.median_lower)}-{_days(km.median_upper)})"
        exp = a.expectation
        expected = ""
        if exp is not None and exp.min_response_rate is not None:
            expected = (
                f"ORR &ge; {_pct(exp.min_response_rate)}, PD &le; "
                f"{_pct(exp.max_progression_rate)} ({esc(exp.basis)})"
            )
        parts.append(
            f"<tr{cls}><td>{esc(a.assertion)}</td><td>{esc(a.therapy or '')}</td>"
            f"<td>{esc(a.level or '')}</td><td class='n'>{a.patients}</td>"
            f"<td class='n'>{a.evaluable}</td><td class='n'>{_pct(a.response_rate)} "
            f"({_pct(ci[0]) if ci else ''}-{_pct(ci[1]) if ci else ''})</td>"
            f"<td class='n'>{_pct(a.progression_rate)}</td><td>{median}</td>"
            f"<td>{expected}</td></tr>"
        )
    parts.append("</table><h2>Time on treatment (Kaplan-Meier, 95% band)</h2><div class='kms'>")
    for a in report.assertions:
        if a.time_on_treatment is not None and not a.suppressed:
            parts.append(_km_svg(a, a.time_on_treatment))
    parts.append("</div>")
    if report.off_label:
        parts.append("<h2>Used without an assertion</h2><table><tr><th>Biomarkers</th>"
                     "<th>Therapy</th><th>Patients</th><th>Episodes</th></tr>")  # fmt: skip
        for use in report.off_label:
            parts.append(
                f"<tr class='alert'><td>{esc(use.biomarkers)}</td><td>{esc(use.therapy)}</td>"
                f"<td class='n'>{use.patients}</td><td class='n'>{use.episodes}</td></tr>"
            )
        parts.append("</table>")
    parts.append("</body></html>\n")
    return "".join(parts)


def _days(value: float | None) -> str:
    return "NR" if value is None else f"{value:.0f}"


def _response_chart(report: Report) -> str:
    shown = [a for a in report.assertions if not a.suppressed and a.response_rate is not None]
    if not shown:
        return "<p class='sup'>No assertion has outcomes from enough patients to show.</p>"
    row, left, width = 18, 90, 420
    height = row * len(shown) + 30
    out = [
        f"<svg xmlns='http://www.w3.org/2000/svg' width='{left + width + 60}' height='{height}' "
        "role='img' aria-label='Response rate by assertion with 95% Wilson intervals'>"
    ]
    for tick in (0, 25, 50, 75, 100):
        x = left + width * tick / 100
        out.append(
            f"<line x1='{x:.1f}' y1='0' x2='{x:.1f}' y2='{height - 20}' stroke='#ddd'/>"
            f"<text x='{x:.1f}' y='{height - 6}' text-anchor='middle'>{tick}%</text>"
        )
    for i, a in enumerate(shown):
        y = i * row + 4
        rate = a.response_rate or 0.0
        out.append(
            f"<text x='{left - 6}' y='{y + 11}' text-anchor='end'>{html.escape(a.assertion)}</text>"
            f"<rect x='{left}' y='{y}' width='{width * rate:.1f}' height='{row - 6}' "
            "fill='#4a7fb5'/>"
        )
        if a.response_ci:
            lo, hi = (left + width * v for v in a.response_ci)
            mid = y + (row - 6) / 2
            out.append(
                f"<line x1='{lo:.1f}' y1='{mid:.1f}' x2='{hi:.1f}' y2='{mid:.1f}' "
                "stroke='#222' stroke-width='1.5'/>"
            )
        if a.expectation and a.expectation.min_response_rate is not None:
            x = left + width * a.expectation.min_response_rate
            out.append(
                f"<line x1='{x:.1f}' y1='{y - 1}' x2='{x:.1f}' y2='{y + row - 5}' "
                "stroke='#d9480f' stroke-width='2'><title>expected at least</title></line>"
            )
    out.append("</svg>")
    return "".join(out)


def _km_svg(a: AssertionStats, km: KmCurve) -> str:
    w, h, pad, top = 250, 160, 28, 20
    last = max((p.time for p in km.points), default=1) or 1

    def x(t: float) -> float:
        return pad + (w - pad - 6) * t / last

    def y(s: float) -> float:
        return top + (h - pad - top) * (1 - s)

    def steps(values: list[tuple[int, float]]) -> str:
        # One step per pixel column at most: a curve of thousands of event days draws the
        # same and the page stays small.
        out: list[str] = []
        previous = 1.0
        column = -1
        for index, (t, s) in enumerate(values):
            at = int(x(t))
            if at == column and index != len(values) - 1:
                continue
            column = at
            out.append(f"{x(t):.1f},{y(previous):.1f} {x(t):.1f},{y(s):.1f}")
            previous = s
        return " ".join(out)

    points = list(km.points)
    upper = [(p.time, p.upper) for p in points]
    lower = [(p.time, p.lower) for p in points]
    band = steps(upper) + " " + " ".join(reversed(steps(lower).split(" ")))
    title = html.escape(f"{a.assertion} {a.therapy or ''}")
    return (
        f"<svg xmlns='http://www.w3.org/2000/svg' width='{w}' height='{h}' role='img' "
        f"aria-label='Time on treatment {title}'>"
        f"<text x='2' y='12'>{title[:48]}</text>"
        f"<polygon points='{band}' fill='#4a7fb5' fill-opacity='0.2' stroke='none'/>"
        f"<polyline points='{steps([(p.time, p.survival) for p in points])}' fill='none' "
        "stroke='#1d4e89' stroke-width='1.5'/>"
        f"<line x1='{pad}' y1='{y(0.5):.1f}' x2='{w - 6}' y2='{y(0.5):.1f}' stroke='#bbb' "
        "stroke-dasharray='3,3'/>"
        f"<line x1='{pad}' y1='{h - pad + 6}' x2='{w - 6}' y2='{h - pad + 6}' stroke='#888'/>"
        f"<text x='{pad}' y='{h - 8}'>0</text>"
        f"<text x='{w - 6}' y='{h - 8}' text-anchor='end'>{last} days</text>"
        f"<text x='2' y='{y(1.0) + 4:.1f}'>1.0</text><text x='2' y='{y(0.5) + 4:.1f}'>0.5</text>"
        "</svg>"
    )
