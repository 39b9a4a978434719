"""The notebook view of a comparison (or a test report): a table widget, cases down, variants across.

A toggle narrows the table to the cases where the variants disagree (one passes, another fails), which
is what a reviewer looks at first. The HTML itself comes from :mod:`nbflow.evaluate.report`, so the
widget, ``--html`` and ``_repr_html_`` show the same thing.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import ipywidgets as widgets

if TYPE_CHECKING:
    from nbflow.evaluate.report import Comparison

__all__ = ["comparison_widget"]


def _disagreeing(comp: Comparison) -> list[str]:
    out = []
    for case in comp.cases:
        verdicts = {r.passed for n in comp.reports if (r := comp.result(n, case)) is not None}
        if len(verdicts) > 1:
            out.append(case)
    return out


def comparison_widget(comp: Comparison) -> Any:
    """A VBox: a summary line, a "disagreements only" toggle and the side-by-side table."""
    from dataclasses import replace

    table = widgets.HTML(comp.to_html())
    summary = "; ".join(f"<b>{n}</b> {r.passed}/{len(r.cases)} passed, ${r.cost:.4f}, "
                        f"mean {comp.mean_latency(n):.2f}s" for n, r in comp.reports.items())
    disagree = _disagreeing(comp)
    toggle = widgets.ToggleButton(value=False, description=f"disagreements only ({len(disagree)})",
                                  layout=widgets.Layout(width="auto"), disabled=not disagree)

    def _show(change: dict[str, Any]) -> None:
        shown = replace(comp, cases=disagree) if change["new"] else comp
        table.value = shown.to_html()

    toggle.observe(_show, names="value")
    box = widgets.VBox([widgets.HTML(summary), toggle, table])
    box.add_class("nbflow-comparison")
    return box
