"""The example flows for the seed's patterns run offline: route by classification, regenerate until a
vision score is reached, draft -> human approval -> publish."""

from __future__ import annotations

from pathlib import Path

import pytest

import nbflow
from nbflow.cli import main
from nbflow.model.values import Media
from nbflow.store import open_store

from .helpers import CountingProvider, providers_with

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


@pytest.mark.parametrize(("item", "route", "produced", "skipped"), [
    ("Product photo: a red handbag on a cluttered kitchen table", "product_photo", "enhanced", "summarize"),
    ("Quarterly report. Revenue grew 12%. Costs fell. We hired four people.", "text_document", "summary",
     "enhance"),
])
def test_classify_and_route(item: str, route: str, produced: str, skipped: str):
    flow = nbflow.load(EXAMPLES / "classify_and_route.json")
    prov = CountingProvider(labels={"handbag": "product_photo", "revenue": "text_document"})
    res = flow.run(item=item, providers=providers_with(prov))
    assert res.status == "succeeded"
    assert res.outputs["label"] == route
    assert set(res.outputs) == {"label", produced}
    assert res.nodes[skipped].status == "skipped"
    if produced == "enhanced":
        assert isinstance(res.outputs["enhanced"], Media) and res.outputs["enhanced"].kind == "image"
    else:
        assert res.outputs["summary"].startswith("[offline]")


def test_classify_and_route_offline_takes_exactly_one_route():
    res = nbflow.load(EXAMPLES / "classify_and_route.json").run()
    assert res.status == "succeeded"
    assert res.outputs["label"] in ("product_photo", "text_document")
    assert len({"enhanced", "summary"} & set(res.outputs)) == 1
    assert sum(r.status == "skipped" for r in res.nodes.values()) == 3  # the other route's three nodes


def test_generate_score_regenerate_keeps_every_attempt():
    prov = CountingProvider()
    flow = nbflow.load(EXAMPLES / "generate_score_regenerate.json")
    store = open_store(":memory:")
    res = flow.run(providers=providers_with(prov), store=store)
    assert res.status == "succeeded"
    its = res.nodes["attempts"].outputs["iterations"]
    tries = res.outputs["tries"]
    assert len(its) == tries and 1 <= tries <= 5
    assert all(it["score"] < 0.8 for it in its[:-1])
    assert res.outputs["reached_target"] == (its[-1]["score"] >= 0.8)
    assert res.outputs["score"] == its[-1]["score"] and res.outputs["image"] == its[-1]["image"]
    assert prov.calls["offline-image"] == tries and prov.calls["offline-chat:vision"] == tries
    # each attempt after the first was told the previous critique
    assert all(its[k - 1]["critique"] in p for k, p in enumerate(
        [q for q in prov.prompts if q.startswith("Score")][1:], start=1))
    saved = store.get(res.run_id).nodes["attempts"].outputs["iterations"]
    assert [it["image"].data for it in saved] == [it["image"].data for it in its]


def test_generate_score_regenerate_stops_at_five():
    flow = nbflow.load(EXAMPLES / "generate_score_regenerate.json")
    # a target no score can reach (scores are at most 1), so the bound is what stops the loop
    flow.set_params("attempts", until=[{"path": "$.score", "op": ">=", "value": 1.5}])
    res = flow.run(prompt="a ceramic teapot on an oak table, morning light")
    assert res.outputs["tries"] == 5 and res.outputs["reached_target"] is False


def test_approval_before_publish_from_the_command_line(capsys):
    path = str(EXAMPLES / "approval_before_publish.json")
    assert main(["run", path, "-q"]) == 3
    run_id = capsys.readouterr().err.split()[1]
    assert main(["resume", run_id, "--approve", "--value", "A teapot that pours like a dream.", "-q"]) == 0
    out = capsys.readouterr().out
    assert "published: <article>A teapot that pours like a dream.</article>" in out
    with open_store() as store:
        res = store.get(run_id)
        assert res.nodes["rejected"].status == "skipped"
        assert store.approvals(run_id, pending=False)[0].deadline is not None  # a day to answer


def test_approval_before_publish_rejected_in_python():
    prov = CountingProvider()
    flow = nbflow.load(EXAMPLES / "approval_before_publish.json")
    res = flow.run(providers=providers_with(prov))
    assert res.status == "paused"
    done = flow.resume(approve=False, comment="not our voice")
    assert done.outputs["rejected"] == res.nodes["draft"].outputs["text"]
    assert "published" not in done.outputs
    assert prov.calls == {"offline-chat": 1}
