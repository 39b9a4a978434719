"""What a suite of cases or a comparison found, and its forms: a text table, JUnit XML for CI, JSON, HTML.

HTML renders outputs as they are: text (shortened, full text on hover), JSON, images as pictures and
audio and video as players (bytes inlined as ``data:`` URLs, so one file holds the whole report).
"""

from __future__ import annotations

import base64
import html
import importlib
import json
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from typing import Any

from nbflow.model.record import RunResult, value_to_json
from nbflow.model.values import Media

__all__ = [
    "VIEW",
    "CaseResult",
    "Check",
    "Comparison",
    "TestReport",
    "comparison_html",
    "comparison_table",
    "junit_xml",
    "output_html",
    "report_html",
    "text_table",
]

#: The notebook view of a comparison, as ``module:attribute``: a front end above this layer, reached by
#: name (like ``Flow.edit``'s canvas), so nothing here imports ipywidgets.
VIEW = "nbflow.widget.comparison:comparison_widget"


@dataclass(kw_only=True, slots=True)
class Check:
    """The outcome of one expectation."""

    expectation: str
    ok: bool
    detail: str = ""
    """What was found, when it did not hold (or the judge's score)."""


@dataclass(kw_only=True, slots=True)
class CaseResult:
    """One case's run and checks."""

    name: str
    passed: bool
    checks: list[Check] = field(default_factory=list)
    run: RunResult | None = None
    cost: float = 0.0
    judge_cost: float = 0.0
    duration: float = 0.0
    outputs: dict[str, Any] = field(default_factory=dict)

    @property
    def failure(self) -> Check | None:
        """The first check that did not hold."""
        return next((c for c in self.checks if not c.ok), None)

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"name": self.name, "passed": self.passed,
                               "checks": [{"expectation": c.expectation, "ok": c.ok, "detail": c.detail}
                                          for c in self.checks],
                               "cost": round(self.cost, 8), "duration": round(self.duration, 6),
                               "outputs": value_to_json(self.outputs, inline_media=False)}
        if self.judge_cost:
            out["judge_cost"] = round(self.judge_cost, 8)
        if self.run is not None:
            out["run_id"] = self.run.run_id
            out["status"] = self.run.status
            if self.run.error:
                out["error"] = self.run.error
        return out


@dataclass(kw_only=True, slots=True)
class TestReport:
    """The outcome of a suite of cases on one flow (one variant of it, in a comparison)."""

    __test__ = False  # not a pytest test class, whatever its name

    flow: str
    cases: list[CaseResult] = field(default_factory=list)
    variant: str | None = None
    duration: float = 0.0

    @property
    def passed(self) -> int:
        return sum(1 for c in self.cases if c.passed)

    @property
    def failed(self) -> int:
        return len(self.cases) - self.passed

    @property
    def ok(self) -> bool:
        return self.failed == 0

    @property
    def cost(self) -> float:
        return sum(c.cost for c in self.cases)

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"flow": self.flow, "passed": self.passed, "failed": self.failed,
                               "cost": round(self.cost, 8), "duration": round(self.duration, 6),
                               "cases": [c.to_json() for c in self.cases]}
        if self.variant is not None:
            out["variant"] = self.variant
        return out

    def table(self) -> str:
        """The plain-text table ``nbflow test`` prints."""
        return text_table(self)

    def _repr_html_(self) -> str:
        return report_html(self)


@dataclass(kw_only=True, slots=True)
class Comparison:
    """The cases of one flow through each variant."""

    flow: str
    cases: list[str]
    reports: dict[str, TestReport]
    changes: dict[str, str] = field(default_factory=dict)
    """Variant name -> its param changes, in words (``copy.model=gpt-4o``)."""
    duration: float = 0.0

    def result(self, variant: str, case: str) -> CaseResult | None:
        return next((c for c in self.reports[variant].cases if c.name == case), None)

    def describe(self, variant: str) -> str:
        return self.changes.get(variant) or "as saved"

    def mean_latency(self, variant: str) -> float:
        cases = self.reports[variant].cases
        return sum(c.duration for c in cases) / len(cases) if cases else 0.0

    def to_json(self) -> dict[str, Any]:
        return {"flow": self.flow, "cases": self.cases, "duration": round(self.duration, 6),
                "variants": [{"name": n, "changes": self.describe(n), "passed": r.passed, "failed": r.failed,
                              "cost": round(r.cost, 8), "mean_latency": round(self.mean_latency(n), 6),
                              "cases": [c.to_json() for c in r.cases]} for n, r in self.reports.items()]}

    def table(self, show: str | None = None) -> str:
        """Plain text, a row per case and variant (what ``nbflow compare`` prints)."""
        return comparison_table(self, show=show)

    def to_html(self, *, page: bool = False) -> str:
        return comparison_html(self, page=page)

    def _repr_html_(self) -> str:
        return self.to_html()

    def widget(self) -> Any:
        """The table as an ipywidgets widget (needs ipywidgets)."""
        module, _, name = VIEW.partition(":")
        return getattr(importlib.import_module(module), name)(self)

    def _ipython_display_(self) -> None:
        from IPython.display import display

        display(self.widget())

    def __repr__(self) -> str:
        parts = ", ".join(f"{n} {r.passed}/{len(r.cases)}" for n, r in self.reports.items())
        return f"<Comparison {self.flow}: {parts}>"




def _money(cost: float) -> str:
    return f"${cost:.6f}" if 0 < cost < 0.0001 else f"${cost:.4f}"


def _clip(text: str, width: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 3] + "..."


def _detail(case: CaseResult) -> str:
    fail = case.failure
    if fail is None:
        return f"{len(case.checks)}/{len(case.checks)} checks"
    return f"{fail.expectation}: {fail.detail}" if fail.detail else fail.expectation


def _grid(rows: list[list[str]], right: set[int]) -> str:
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    out = []
    for r in rows:
        cells = [c.rjust(w) if i in right else c.ljust(w) for i, (c, w) in enumerate(zip(r, widths, strict=True))]
        out.append("  ".join(cells).rstrip())
    return "\n".join(out)


def text_table(report: TestReport, *, width: int = 70) -> str:
    """One row per case: name, pass/FAIL, the first failing expectation (or the checks count), cost, time."""
    rows = [["case", "result", "expectation", "cost", "time"]]
    for c in report.cases:
        rows.append([c.name, "pass" if c.passed else "FAIL", _clip(_detail(c), width), _money(c.cost),
                     f"{c.duration:.2f}s"])
    judge = sum(c.judge_cost for c in report.cases)
    tail = (f"{len(report.cases)} cases: {report.passed} passed, {report.failed} failed; cost "
            f"{_money(report.cost)}" + (f" (+ {_money(judge)} judging)" if judge else "") +
            f"; {report.duration:.2f}s")
    return _grid(rows, {3, 4}) + "\n" + tail


def junit_xml(report: TestReport) -> str:
    """JUnit XML: one ``testcase`` per case, a ``failure`` naming each expectation that did not hold."""
    suite = ET.Element("testsuite", name=report.flow, tests=str(len(report.cases)),
                       failures=str(report.failed), errors="0", skipped="0", time=f"{report.duration:.3f}")
    for c in report.cases:
        tc = ET.SubElement(suite, "testcase", name=c.name, classname=f"nbflow.{report.flow}",
                           time=f"{c.duration:.3f}")
        failed = [ch for ch in c.checks if not ch.ok]
        if failed:
            fail = ET.SubElement(tc, "failure", message=_clip(_detail(c), 200), type="ExpectationFailed")
            fail.text = "\n".join(f"{ch.expectation}: {ch.detail}" for ch in failed)
        props = ET.SubElement(tc, "properties")
        ET.SubElement(props, "property", name="cost", value=f"{c.cost:.8f}")
        if c.run is not None:
            ET.SubElement(props, "property", name="run_id", value=c.run.run_id)
    root = ET.Element("testsuites", name="nbflow test", tests=str(len(report.cases)),
                      failures=str(report.failed), time=f"{report.duration:.3f}")
    root.append(suite)
    ET.indent(root)
    return '<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


def output_html(value: Any, *, clip: int = 300) -> str:
    """One output value as HTML: media as players/pictures, JSON as a block, text shortened."""
    if isinstance(value, Media):
        src = value.url or ""
        if value.data is not None:
            src = f"data:{value.mime};base64,{base64.b64encode(value.data).decode('ascii')}"
        if value.kind == "image":
            style = "min-width:64px;max-width:180px;max-height:180px"
            return f'<img src="{html.escape(src)}" style="{style}" alt="{value.mime}">'
        if value.kind in ("audio", "video"):
            return f'<{value.kind} controls src="{html.escape(src)}" style="max-width:240px"></{value.kind}>'
        return html.escape(f"<{value.mime}, {value.size or 0:,} bytes>")
    if isinstance(value, list) and value and all(isinstance(v, Media) for v in value):
        return " ".join(output_html(v) for v in value)
    if isinstance(value, str):
        short = value if len(value) <= clip else value[: clip - 3] + "..."
        return f'<span title="{html.escape(value[:2000])}">{html.escape(short)}</span>'
    text = json.dumps(value_to_json(value, inline_media=False), ensure_ascii=False, indent=1)
    return f"<pre style='margin:0;white-space:pre-wrap'>{html.escape(_clip(text, clip))}</pre>"


_STYLE = ("<style>.nbflow-eval{border-collapse:collapse;font:13px sans-serif}"
          ".nbflow-eval th,.nbflow-eval td{border:1px solid #ccc;padding:4px 8px;vertical-align:top;"
          "text-align:left}.nbflow-eval .pass{color:#1a7f37;font-weight:600}"
          ".nbflow-eval .fail{color:#cf222e;font-weight:600}.nbflow-eval .meta{color:#666;font-size:12px}"
          "</style>")


def _checks_html(c: CaseResult) -> str:
    items = []
    for ch in c.checks:
        mark = '<span class="pass">&#10003;</span>' if ch.ok else '<span class="fail">&#10007;</span>'
        detail = f" <span class='meta'>{html.escape(ch.detail)}</span>" if ch.detail else ""
        items.append(f"{mark} {html.escape(ch.expectation)}{detail}")
    return "<br>".join(items)


def _cell(c: CaseResult | None) -> str:
    if c is None:
        return "<td>-</td>"
    verdict = '<span class="pass">pass</span>' if c.passed else '<span class="fail">FAIL</span>'
    outs = "".join(f"<div><b>{html.escape(k)}</b>: {output_html(v)}</div>" for k, v in c.outputs.items())
    return (f"<td>{verdict} <span class='meta'>{_money(c.cost)} &middot; {c.duration:.2f}s</span>"
            f"{outs}<div class='meta'>{_checks_html(c)}</div></td>")


def report_html(report: TestReport) -> str:
    """An HTML table of one suite (a notebook shows a :class:`TestReport` this way)."""
    rows = "".join(f"<tr><th>{html.escape(c.name)}</th>{_cell(c)}</tr>" for c in report.cases)
    head = (f"<caption>{html.escape(report.flow)}: {report.passed}/{len(report.cases)} passed, "
            f"{_money(report.cost)}, {report.duration:.2f}s</caption>")
    return f"{_STYLE}<table class='nbflow-eval'>{head}<tr><th>case</th><th>result</th></tr>{rows}</table>"


def comparison_html(comp: Comparison, *, page: bool = False) -> str:
    """Cases down, variants across: outputs, checks, cost and latency side by side."""
    names = list(comp.reports)
    head = "".join(f"<th>{html.escape(n)}<div class='meta'>{html.escape(comp.describe(n))}</div></th>"
                   for n in names)
    rows = []
    for case in comp.cases:
        cells = "".join(_cell(comp.result(n, case)) for n in names)
        rows.append(f"<tr><th>{html.escape(case)}</th>{cells}</tr>")
    totals = "".join(
        f"<td><b>{r.passed}/{len(r.cases)} passed</b> <span class='meta'>{_money(r.cost)} &middot; "
        f"mean {comp.mean_latency(n):.2f}s</span></td>" for n, r in comp.reports.items())
    table = (f"{_STYLE}<table class='nbflow-eval'><caption>{html.escape(comp.flow)}: {len(comp.cases)} cases x "
             f"{len(names)} variants</caption><tr><th>case</th>{head}</tr>{''.join(rows)}"
             f"<tr><th>total</th>{totals}</tr></table>")
    if not page:
        return table
    return (f"<!doctype html><html><head><meta charset='utf-8'><title>nbflow compare: "
            f"{html.escape(comp.flow)}</title></head><body>{table}</body></html>\n")


def _first_text(outputs: dict[str, Any]) -> Any:
    """The output a one-line table shows: the first text one, else the first."""
    return next((v for v in outputs.values() if isinstance(v, str)), next(iter(outputs.values()), ""))


def comparison_table(comp: Comparison, *, show: str | None = None, width: int = 36) -> str:
    """Plain text: a row per case and variant, with the first output (or ``show``) shortened."""
    rows = [["case", "variant", "result", "output", "cost", "time"]]
    for case in comp.cases:
        for n in comp.reports:
            c = comp.result(n, case)
            if c is None:
                continue
            value = c.outputs.get(show) if show else _first_text(c.outputs)
            shown = value if isinstance(value, str) else json.dumps(value_to_json(value, inline_media=False))
            if isinstance(value, Media):
                shown = f"<{value.mime}, {value.size or 0:,} bytes>"
            rows.append([case, n, "pass" if c.passed else "FAIL", _clip(shown or "", width), _money(c.cost),
                         f"{c.duration:.2f}s"])
    tail = "\n".join(f"{n}: {r.passed}/{len(r.cases)} passed, cost {_money(r.cost)}, mean latency "
                     f"{comp.mean_latency(n):.2f}s" for n, r in comp.reports.items())
    return _grid(rows, {4, 5}) + "\n" + tail
