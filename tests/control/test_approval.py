"""Human approval: the run pauses, its state is saved, and it resumes with a decision, once."""

from __future__ import annotations

import time
from typing import Any

import pytest

import nbflow
from nbflow.exceptions import ResumeError
from nbflow.store import MemoryStore, SQLiteStore

from .helpers import CountingProvider, providers_with


def publish_flow(**approval: Any) -> nbflow.Flow:
    """topic -> draft (llm 'drafter') -> approval -> publish (llm 'publisher') -> output."""
    f = nbflow.Flow("approval-before-publish")
    f.add("input.text", id="topic", default="a teapot")
    f.add("template", id="ask", template="Write copy for {{topic}}")
    f.add("llm", id="draft", model="drafter")
    f.add("approval", id="review", prompt="Publish this copy?", **approval)
    f.add("template", id="final", template="Publish: {{copy}}")
    f.add("llm", id="publish", model="publisher")
    f.add("output", id="published")
    f.add("output", id="decision")
    f.add("output", id="rejected")
    f.connect("topic.value", "ask.topic")
    f.connect("ask.text", "draft.prompt")
    f.connect("draft.text", "review.value")
    f.connect("review.approved", "final.copy")
    f.connect("final.text", "publish.prompt")
    f.connect("publish.text", "published.value")
    f.connect("review.decision", "decision.value")
    f.connect("review.rejected", "rejected.value")
    return f


@pytest.fixture
def prov() -> CountingProvider:
    return CountingProvider()


def test_pause_then_approve_with_an_edit_runs_finished_nodes_once(prov: CountingProvider):
    store = MemoryStore()
    f = publish_flow()
    res = f.run(store=store, providers=providers_with(prov))
    assert res.status == "paused"
    assert res.nodes["review"].status == "paused" and res.nodes["publish"].status == "pending"
    [waiting] = nbflow.pending_approvals(res)
    assert waiting.node_id == "review" and waiting.reason == "Publish this copy?"
    assert waiting.data["value"] == res.nodes["draft"].outputs["text"]
    assert [a.node_id for a in store.approvals(res.run_id)] == ["review"]
    assert store.summary(res.run_id).status == "paused"
    assert prov.calls == {"drafter": 1}

    done = nbflow.resume(res.run_id, approve=True, value="Our best teapot yet.", comment="tightened",
                         by="ana", store=store, providers=providers_with(prov))
    assert done.status == "succeeded" and done.run_id == res.run_id
    assert prov.calls == {"drafter": 1, "publisher": 1}  # the draft was not paid for twice
    assert prov.prompts[-1] == "Publish: Our best teapot yet."
    assert done.outputs["decision"]["approved"] is True
    assert done.outputs["decision"]["comment"] == "tightened" and done.outputs["decision"]["by"] == "ana"
    assert "rejected" not in done.outputs and done.nodes["rejected"].status == "skipped"
    assert done.nodes["draft"].usage  # the earlier cost stays in the record
    saved = store.load(res.run_id)
    assert saved.result.status == "succeeded" and saved.pending == []
    assert saved.approvals[0].decision["value"] == "Our best teapot yet."
    with pytest.raises(ResumeError, match="already succeeded"):
        nbflow.resume(res.run_id, approve=True, store=store)


def test_reject_skips_the_approved_path(prov: CountingProvider):
    f = publish_flow()
    res = f.run(providers=providers_with(prov))
    done = f.resume(approve=False, comment="off-brand")  # in memory: no store needed
    assert done.status == "succeeded"
    assert done.outputs["rejected"] == res.nodes["draft"].outputs["text"]
    assert done.nodes["publish"].status == "skipped"
    assert prov.calls == {"drafter": 1}


def test_reject_can_fail_the_run():
    f = publish_flow(reject_fails=True)
    f.run()
    done = f.resume(approve=False, comment="no")
    assert done.status == "failed" and done.error == "node 'review': rejected: no"


def test_not_editable():
    f = publish_flow(editable=False)
    f.run()
    done = f.resume(approve=True, value="sneaky")
    assert done.error == "node 'review': this approval does not allow editing the value"


def test_resume_needs_a_decision_while_waiting():
    store = MemoryStore()
    res = publish_flow().run(store=store)
    with pytest.raises(ResumeError) as info:
        nbflow.resume(res.run_id, store=store)
    assert str(info.value) == (f"run {res.run_id!r} is waiting for approval at node 'review' (Publish this copy?); "
                               "resume it with --approve or --reject")
    with pytest.raises(ResumeError, match="node 'nope' is not waiting for approval; it waits at 'review'"):
        nbflow.resume(res.run_id, approve=True, node="nope", store=store)
    with pytest.raises(ResumeError, match="a value can only be given with approve"):
        nbflow.resume(res.run_id, value="x", store=store)


def test_timeout_applies_the_default_decision():
    store = MemoryStore()
    f = publish_flow(timeout=0.05, on_timeout="approve")
    res = f.run(store=store)
    [a] = store.approvals(res.run_id)
    assert a.deadline is not None and a.default == "approve"
    assert nbflow.resume_expired(store) == []  # not yet due
    time.sleep(0.06)
    [done] = nbflow.resume_expired(store)
    assert done.status == "succeeded" and done.outputs["decision"]["timeout"] is True
    assert done.outputs["decision"]["approved"] is True


def test_timeout_reject_default_when_resumed_late():
    store = MemoryStore()
    res = publish_flow(timeout=0.01).run(store=store)
    time.sleep(0.02)
    done = nbflow.resume(res.run_id, store=store)  # no decision: the default applies
    assert done.outputs["decision"] == {"approved": False, "comment": "timed out", "by": "timeout",
                                        "at": done.outputs["decision"]["at"], "timeout": True}


def test_two_approvals_decided_one_at_a_time():
    store = MemoryStore()
    f = nbflow.Flow("two")
    f.add("input.text", id="a", default="A")
    f.add("input.text", id="b", default="B")
    f.add("approval", id="ok_a", timeout=3600)
    f.add("approval", id="ok_b")
    f.add("join", id="j", separator="+")
    f.add("output", id="out")
    f.connect("a.value", "ok_a.value")
    f.connect("b.value", "ok_b.value")
    f.connect("ok_a.approved", "j.in1")
    f.connect("ok_b.approved", "j.in2")
    f.connect("j.text", "out.value")
    res = f.run(store=store)
    first_deadline = store.approvals(res.run_id)[0].deadline
    with pytest.raises(ResumeError, match="waits for approval at nodes 'ok_a', 'ok_b'; name one with --node"):
        nbflow.resume(res.run_id, approve=True, store=store)
    mid = nbflow.resume(res.run_id, approve=True, node="ok_b", store=store)
    assert mid.status == "paused" and mid.nodes["ok_b"].status == "done"
    assert [a.node_id for a in store.approvals(res.run_id)] == ["ok_a"]
    assert store.approvals(res.run_id)[0].deadline == first_deadline  # waiting again keeps the deadline
    done = nbflow.resume(res.run_id, approve=True, store=store)
    assert done.outputs == {"out": "A+B"}


def test_approval_is_never_served_from_the_cache():
    f = publish_flow()
    assert f.run().status == "paused"
    assert f.run().status == "paused"  # same inputs, the cache on: still asks again


def test_pause_inside_a_loop_is_a_clear_error():
    body = {"nbflow": 1, "name": "b", "nodes": [
        {"id": "x", "type": "input.text"}, {"id": "ok", "type": "approval"},
        {"id": "x_out", "type": "output", "params": {"name": "x"}}],
        "edges": [{"from": "x.value", "to": "ok.value"}, {"from": "ok.approved", "to": "x_out.value"}]}
    f = nbflow.Flow("l")
    f.add("input.text", id="x", default="v")
    f.add("loop", id="loop", flow=body, max_iterations=2)
    f.connect("x.value", "loop.x")
    res = f.run()
    assert res.status == "failed"
    assert res.error.startswith("node 'loop': iteration 1: node 'ok' paused; a pause (approval) inside")


def test_a_configured_store_records_python_runs(tmp_path):
    st = nbflow.use_store(tmp_path / "runs.db")
    try:
        assert isinstance(st, SQLiteStore)
        res = publish_flow().run()
        assert st.summary(res.run_id).status == "paused"
        assert st.summary(res.run_id).source == "python"
        done = nbflow.resume(res.run_id, approve=True)  # finds the run in the configured store
        assert done.status == "succeeded"
        assert st.summary(res.run_id).status == "succeeded"
    finally:
        nbflow.use_store(None)
    assert publish_flow().run().run_id not in st


def test_background_runs_record_too():
    store = MemoryStore()
    f = publish_flow()

    async def go() -> nbflow.RunResult:
        handle = f.start(store=store, source="notebook")
        return await handle

    import asyncio

    res = asyncio.run(go())
    assert res.status == "paused"
    assert store.summary(res.run_id).source == "notebook"
    assert store.load(res.run_id).result.nodes["draft"].status == "done"


def test_a_recorded_decision_survives_a_resume_that_died():
    """The decision is saved before the resumed run starts; resuming again (no decision given) uses it."""
    store = MemoryStore()
    res = publish_flow().run(store=store)
    store.decide(res.run_id, "review", nbflow.resuming.make_decision(True, "Saved edit.", by="ana"))
    done = nbflow.resume(res.run_id, store=store)
    assert done.status == "succeeded"
    assert done.outputs["decision"]["by"] == "ana"
    assert done.nodes["final"].outputs == {"text": "Publish: Saved edit."}
