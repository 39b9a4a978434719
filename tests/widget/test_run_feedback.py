"""A run that cannot start marks the node and field at fault, offers the fix, and runs what can run."""

from __future__ import annotations

import pytest

from nbflow import Flow
from nbflow.exceptions import InputError, SecretError
from nbflow.widget import Editor
from nbflow.widget.status import diagnose, independent_of


def two_branches(provider: str = "offline") -> Flow:
    f = Flow("t")
    f.add("input.text", id="topic", x=0, y=0)
    f.add("template", id="p", template="about {{topic}}", x=260, y=0)
    f.add("llm", id="copy", provider=provider, x=520, y=0)
    f.add("output", id="out", x=780, y=0)
    f.add("input.text", id="other", default="x", x=0, y=240)
    f.add("output", id="out2", x=260, y=240)
    f.connect("topic.value", "p.topic")
    f.connect("p.text", "copy.prompt")
    f.connect("copy.text", "out.value")
    f.connect("other.value", "out2.value")
    return f


def test_diagnose_names_node_field_and_fix() -> None:
    types = {"topic": "input.text", "copy": "llm"}
    p = diagnose(InputError("missing graph input 'topic' (give it with --input topic=...)", node="topic"), types)
    assert p is not None and (p.node, p.field) == ("topic", "default")
    assert p.fix is not None and "--input topic=" in p.fix
    p = diagnose(SecretError("node 'copy': secret OPENAI_API_KEY is not set (set the environment variable ...)"),
                 types)
    assert p is not None and (p.node, p.field) == ("copy", "api_key_env")
    assert p.fix is not None and "OPENAI_API_KEY" in p.fix
    assert diagnose(SecretError("no node named here"), types) is None


def test_independent_branches() -> None:
    f = two_branches()
    assert independent_of({"topic"}, f.edges, list(f.nodes)) == ["other", "out2"]


def test_missing_input_marks_the_node_and_field_and_the_rest_can_run() -> None:
    ed = Editor(two_branches())
    ed.run()
    assert "topic" in ed.vm.problems
    assert ed.vm.selected == "topic" and ed.tabs.selected_index == 0
    assert "2 nodes do not need topic and can run" in ed.message.value
    assert ed.params.fields["default"].layout.border == "2px solid #d93025"
    assert "Give topic a value" in ed.params.problem_box.children[-1].value  # folded under "how to fix"
    assert ed.params.run_ready_button in ed.params.problem_box.children
    ed.params.run_ready_button.click()
    assert ed.vm.status.get("out2") == "done"
    assert "topic" not in ed.vm.status
    # the fix: a value in 'default', then the whole flow runs
    ed.params.fields["default"].value = "cats"
    assert "topic" not in ed.vm.problems
    ed.run()
    assert ed.vm.status.get("out") == "done" and not ed.vm.problems


def test_missing_key_names_the_variable(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    monkeypatch.chdir(tmp_path)  # no .env around
    f = two_branches("openai")
    f.set_params("topic", default="cats")
    ed = Editor(f, store=False)
    ed.run()
    assert "copy" in ed.vm.problems
    assert ed.vm.problems["copy"].field == "api_key_env"
    line = ed.params.problem_box.children[0].value
    assert "OPENAI_API_KEY" in line and "api_key_env: " in line


def test_the_field_at_fault_comes_first_under_the_message(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    monkeypatch.chdir(tmp_path)
    f = two_branches("openai")
    f.set_params("topic", default="cats")
    ed = Editor(f, store=False)
    ed.run()
    rows = list(ed.params.children)
    at_fault = ed.params.fields["api_key_env"]
    # a one-line message, the run-the-rest button and the folded fix, then the field at fault, before
    # the node's title, its id row and every other field (no scrolling in a short notebook panel)
    assert rows.index(ed.params.problem_box) == 0 and rows.index(at_fault) == 1
    assert rows.index(ed.params.header) == 2
    assert all(rows.index(box) > 2 for name, box in ed.params.fields.items() if name != "api_key_env")
    line, button, details = ed.params.problem_box.children
    assert "white-space:nowrap" in line.value and "text-overflow:ellipsis" in line.value
    assert "title='" in line.value and "is not set" in line.value  # the full message as a tooltip
    assert button is ed.params.run_ready_button and button.description.startswith("Run the 4 nodes")
    assert details.value.startswith("<details") and "Set the environment variable OPENAI_API_KEY" in details.value
    assert len(ed.params.fields) > 8  # the llm form is long: at its usual place the field was far down
    ed.vm.select(["topic"])  # another node's form is in its usual order
    ed.params.show("topic")
    assert ed.params.problem_box not in ed.params.children


def test_a_node_description_has_normal_line_spacing() -> None:
    ed = Editor(two_branches(), store=False)
    ed.params.show("copy")
    assert "line-height:1.4" in ed.params.header.value  # not the 28px of a widget row per wrapped line


def test_a_long_message_keeps_one_line_and_shows_in_full_as_its_tooltip() -> None:
    ed = Editor(two_branches(), store=False)
    ed.run()  # cannot run: topic ... (a message longer than a narrow canvas is wide)
    value = ed.message.value
    assert ed.message.layout.height == "22px"  # the canvas under it never moves
    assert "white-space:nowrap" in value and "text-overflow:ellipsis" in value and "line-height:22px" in value
    title = value.split("title='", 1)[1].split("'", 1)[0]
    assert title.startswith("cannot run: topic") and title.endswith("can run")  # the whole text


def test_every_problem_before_the_run_is_reported_at_once(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    monkeypatch.chdir(tmp_path)
    f = two_branches("openai")  # copy needs a key that is not set
    f.add("llm", id="copy_2", x=520, y=240)  # and copy_2's prompt is not wired
    ed = Editor(f, store=False)
    ed.run()
    assert [p.label() for p in ed.params.problems] == ["copy_2.prompt", "topic: default", "copy: api_key_env"]
    assert set(ed.vm.problems) == {"copy_2", "topic", "copy"}  # every node at fault is marked on the canvas
    assert ("cannot run: 3 problems (copy_2.prompt, topic: default, copy: api_key_env); 2 nodes can still run"
            in ed.message.value)
    listed = ed.params.problem_box.children[0].value  # one line each, in the Params tab
    assert all(f"{where}:" in listed for where in ("copy_2.prompt", "topic: default", "copy: api_key_env"))
    assert "Wire an output into copy_2.prompt" in ed.params.problem_box.children[-1].value
    ed.vm.select(["copy"])  # another node at fault: its field outlined, the same list above it
    ed.params.show("copy")
    assert ed.params.children[1] is ed.params.fields["api_key_env"]
    assert "OPENAI_API_KEY" in ed.params.problem_box.children[-1].value
    assert ed.params.run_ready_button.description == "Run the 2 nodes that do not need them"
    ed.params.run_ready_button.click()
    assert ed.vm.status.get("out2") == "done" and "copy" not in ed.vm.status
