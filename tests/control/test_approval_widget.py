"""The notebook's approval buttons resume the paused run with the decision (no browser needed)."""

from __future__ import annotations

import asyncio

import pytest

import nbflow
from nbflow.exceptions import NbflowError
from nbflow.widget.approval import ApprovalBox

from .helpers import CountingProvider, providers_with
from .test_approval import publish_flow


def _settle(box: ApprovalBox) -> nbflow.RunResult:
    assert box.task is not None
    return asyncio.get_event_loop().run_until_complete(box.task)


@pytest.fixture
def loop():
    lp = asyncio.new_event_loop()
    asyncio.set_event_loop(lp)
    yield lp
    lp.close()
    asyncio.set_event_loop(None)


def test_approve_button_with_an_edit(loop):
    prov = CountingProvider()
    f = publish_flow()
    ps = providers_with(prov)
    res = loop.run_until_complete(f.arun(providers=ps))
    finished = []
    box = ApprovalBox(f, res, on_done=finished.append, providers=ps)
    assert box.node_id == "review" and box.value.value == res.nodes["draft"].outputs["text"]
    box.value.value = "Edited in the notebook."
    box.comment.value = "better"
    box.approve.click()
    done = _settle(box)
    assert done.status == "succeeded" and finished == [done]
    assert done.outputs["decision"]["comment"] == "better"
    assert prov.prompts[-1] == "Publish: Edited in the notebook."
    assert prov.calls == {"drafter": 1, "publisher": 1}
    assert box.approve.disabled and box.status.value == "run succeeded"


def test_reject_button(loop):
    f = publish_flow()
    res = loop.run_until_complete(f.arun())
    box = ApprovalBox(f, res)
    box.reject.click()
    done = _settle(box)
    assert "rejected" in done.outputs and done.nodes["publish"].status == "skipped"


def test_json_values_are_edited_as_json(loop):
    f = nbflow.Flow("j")
    f.add("input.json", id="d", default={"price": 12})
    f.add("approval", id="ok")
    f.add("output", id="out")
    f.connect("d.value", "ok.value")
    f.connect("ok.approved", "out.value")
    res = loop.run_until_complete(f.arun())
    box = ApprovalBox(f, res)
    box.value.value = "{oops"
    assert box.decide(True) is None and "must be JSON" in box.status.value
    box.value.value = '{"price": 10}'
    box.approve.click()
    assert _settle(box).outputs == {"out": {"price": 10}}


def test_only_for_paused_runs(loop):
    f = publish_flow()
    res = loop.run_until_complete(f.arun())
    with pytest.raises(NbflowError, match="node 'draft' is not waiting for approval"):
        ApprovalBox(f, res, "draft")
    finished = loop.run_until_complete(f.aresume(res, approve=True))
    with pytest.raises(NbflowError, match="is not waiting for approval"):
        ApprovalBox(f, finished)
