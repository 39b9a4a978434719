"""``Flow.add``/``connect`` check only what they change: counted calls, not timings (those live in bench/)."""

from __future__ import annotations

import pytest

import nbflow
from nbflow.engine import plan as plan_module
from tests.nodes_for_tests import make_registry


@pytest.fixture
def counted(monkeypatch: pytest.MonkeyPatch) -> dict[str, int]:
    """Counts whole-flow compiles and node instantiations made while a flow is edited."""
    calls = {"compile": 0, "make_node": 0}
    real_compile, real_make = plan_module.compile_flow, plan_module.make_node

    def compile_flow(*a, **k):
        calls["compile"] += 1
        return real_compile(*a, **k)

    def make_node(*a, **k):
        calls["make_node"] += 1
        return real_make(*a, **k)

    monkeypatch.setattr(plan_module, "compile_flow", compile_flow)
    monkeypatch.setattr(plan_module, "make_node", make_node)
    import nbflow.engine.wiring as wiring
    import nbflow.flow as flow_module

    monkeypatch.setattr(flow_module, "compile_flow", compile_flow)
    monkeypatch.setattr(flow_module, "make_node", make_node)
    monkeypatch.setattr(wiring, "make_node", make_node)
    return calls


def _chain(n: int) -> nbflow.Flow:
    flow = nbflow.Flow("chain", registry=make_registry())
    prev = flow.add("t.echo", id="n0")
    for i in range(1, n):
        cur = flow.add("t.echo", id=f"n{i}")
        flow.connect(f"{prev}.out", f"{cur}.x")
        prev = cur
    return flow


@pytest.mark.parametrize("n", [10, 300])
def test_building_never_compiles_the_whole_flow_and_makes_each_node_once(counted: dict[str, int], n: int):
    flow = _chain(n)
    assert counted == {"compile": 0, "make_node": n}
    flow.validate()  # the whole-flow check happens once, before a run
    assert counted["compile"] == 1
    assert flow.run().ok


def test_connect_in_reverse_order_still_works_and_stays_incremental(counted: dict[str, int]):
    flow = nbflow.Flow(registry=make_registry())
    for i in range(50):
        flow.add("t.echo", id=f"n{i}")
    for i in reversed(range(1, 50)):  # edges against the order nodes were added in: the order is repaired
        flow.connect(f"n{i - 1}.out", f"n{i}.x")
    assert counted["compile"] == 0
    with pytest.raises(nbflow.CycleError, match=r"cycle: n0 -> n1 -> .* -> n49 -> n0"):
        flow.connect("n49.out", "n0.x")
    assert len(flow.edges) == 49


def test_edge_errors_match_a_full_compile():
    flow = nbflow.Flow(registry=make_registry())
    flow.add("t.echo", id="a")
    flow.add("t.echo", id="b")
    flow.add("t.echo", id="fb")
    flow.set_policy("a", fallback=["fb"])
    flow.connect("a.out", "b.x")
    cases = [
        (("a.nope", "b.y"), "edge a.nope -> b.y: t.echo has no output 'nope'"),
        (("a.out", "b.nope"), "edge a.out -> b.nope: t.echo has no input 'nope'"),
        (("a.out", "zz.x"), "edge a.out -> zz.x: no node 'zz'"),
        (("fb.out", "b.x"), "input already wired from a.out"),
        (("fb.out", "b.y"), "a fallback node's outputs cannot be wired"),
        (("b.out", "fb.x"), "fallback node 'fb' must have no wired inputs"),
        (("b.out", "b.y"), "cycle: b -> b"),
        (("b.out", "a.x"), "cycle: a -> b -> a"),
    ]
    for (src, dst), message in cases:
        with pytest.raises(nbflow.FlowError, match=message.replace(".", r"\.")):
            flow.connect(src, dst)
    assert flow.edges == [("a.out", "b.x")]


def test_edits_after_remove_rename_and_direct_spec_changes_see_the_current_flow():
    flow = _chain(3)
    flow.remove("n1")
    flow.connect("n0.out", "n2.x")
    flow.rename("n2", "last")
    with pytest.raises(nbflow.WiringError, match="already wired"):
        flow.connect("n0.out", "last.x")
    flow.spec.nodes.append(nbflow.model.NodeSpec(id="extra", type="t.echo"))  # behind the flow's back
    flow.connect("last.out", "extra.x")
    assert flow.add("t.echo") == "echo_1"
    assert flow.add("t.echo") == "echo_2"
    assert flow.run().ok
