"""The headless path of test/compare never loads widget libraries; the notebook view is a table widget."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from nbflow import Flow
from nbflow.evaluate import compare

ROOT = Path(__file__).resolve().parents[2]
CASES = [{"name": "teapot", "inputs": {"product": "a teapot"},
          "expect": [{"path": "$.outputs.copy", "op": "contains", "value": "Introducing"}]},
         {"name": "jug", "inputs": {"product": "a jug"},
          "expect": [{"path": "$.outputs.copy", "op": "contains", "value": "jug"}]}]


def _flow() -> Flow:
    f = Flow("copy")
    f.add("input.text", id="product")
    f.add("llm", id="copy")
    f.add("output", id="copy_out", name="copy")
    f.connect("product.value", "copy.prompt")
    f.connect("copy.text", "copy_out.value")
    return f


def test_headless_test_and_compare_never_import_widget_libraries(tmp_path: Path) -> None:
    flow = str(_flow().save(tmp_path / "flow.json"))
    cases = tmp_path / "cases.jsonl"
    cases.write_text('{"name": "a", "inputs": {"product": "x"}}\n')
    code = (f"import nbflow, sys\nfrom nbflow.cli import main\n"
            f"main(['test', {flow!r}, {str(cases)!r}])\n"
            f"main(['compare', {flow!r}, {str(cases)!r}, '-V', 'w:copy.temperature=1', '--html', {str(tmp_path / 'c.html')!r}])\n"
            f"c = nbflow.compare({flow!r}, {str(cases)!r}, {{'w': {{'copy.temperature': 1}}}})\n"
            f"c.to_html(); repr(c)\n"
            "print('HEAVY=' + ','.join(m for m in ('ipywidgets', 'ipycanvas', 'IPython') if m in sys.modules))")
    env = {**os.environ, "NBFLOW_HOME": str(tmp_path / "home")}
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, env=env, timeout=120)
    assert p.returncode == 0, p.stderr
    assert p.stdout.strip().splitlines()[-1] == "HEAVY="


def test_comparison_widget_is_a_table_with_a_disagreements_toggle() -> None:
    import ipywidgets as widgets

    from nbflow.widget.comparison import comparison_widget

    comp = compare(_flow(), CASES, {"intro": {"copy.system": "Start with Introducing."}})
    box = comp.widget()
    assert isinstance(box, widgets.VBox)
    summary, toggle, table = box.children
    assert "<b>base</b> 2/2 passed" in summary.value and "<b>intro</b> 1/2 passed" in summary.value
    assert table.value.count("<tr>") == 4  # header, two cases, totals
    toggle.value = True  # the offline model answers the variant's teapot differently: the one disagreement
    assert table.value.count("<tr>") == 3 and "teapot" in table.value and ">jug<" not in table.value
    toggle.value = False
    assert table.value.count("<tr>") == 4
    assert comparison_widget(comp).children[1].description == "disagreements only (1)"
