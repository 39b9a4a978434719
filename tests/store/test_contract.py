"""One contract for every run store: each test runs over the memory, SQLite and PostgreSQL backends."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from nbflow.exceptions import StoreError
from nbflow.model.record import NodeRecord, RunResult
from nbflow.model.values import Media
from nbflow.providers.offline import png_bytes
from nbflow.store import Approval, MemoryStore, RunStore, SQLiteStore, open_store


@pytest.fixture(params=["memory", "sqlite", "postgres"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> RunStore:
    s: RunStore
    if request.param == "memory":
        s = MemoryStore()
    elif request.param == "sqlite":
        s = SQLiteStore(tmp_path / "runs.db")
    else:
        s = open_store(request.getfixturevalue("pg_url"))
    yield s
    s.close()


def _png(seed: int) -> Media:
    return Media(mime="image/png", data=png_bytes(2, 1, [bytes([seed, 0, 0, 0, seed, 0])]), name="x.png")


def _run(run_id: str = "r1", *, flow: str = "f", status: str = "succeeded", started: float = 1000.0,
         outputs: dict | None = None) -> RunResult:
    res = RunResult(run_id=run_id, flow=flow, status=status, inputs={"topic": "tea"},
                    outputs=outputs if outputs is not None else {"copy": "hello"}, started_at=started,
                    ended_at=started + 2)
    rec = NodeRecord("a", "llm", status="done", attempts=1, started_at=started, ended_at=started + 1,
                     outputs={"text": "hello"}, usage=[{"provider": "offline", "model": "m", "input_tokens": 3,
                                                        "cost": 0.5}], cost=0.5, key="k1")
    res.nodes = {"a": rec, "b": NodeRecord("b", "output", status="skipped", reason="branch not taken")}
    if status == "failed":
        res.error = "node 'a': boom"
    return res


def test_save_and_load_round_trip(store: RunStore):
    res = _run()
    store.save(res, flow_text='{"nbflow": 1}', flow_file="/x/f.json", source="cli")
    got = store.load("r1")
    assert got.result.to_json() == res.to_json()
    assert got.flow_text == '{"nbflow": 1}'
    assert got.summary.flow_file == "/x/f.json"
    assert got.summary.source == "cli"
    assert got.summary.cost == 0.5
    assert got.summary.usage == {"input_tokens": 3}
    assert "r1" in store and "nope" not in store


def test_missing_run_is_a_store_error(store: RunStore):
    with pytest.raises(StoreError, match="no run 'nope' in the run store"):
        store.load("nope")
    with pytest.raises(StoreError, match="no run 'nope'"):
        store.record_node("nope", NodeRecord("a", "llm"), seq=0)


def test_record_as_it_goes(store: RunStore):
    res = RunResult(run_id="r2", flow="f", inputs={"n": 1}, started_at=5.0)
    store.record_start(res, flow_text="{}", source="notebook")
    assert store.summary("r2").status == "running"
    assert store.summary("r2").pid is not None
    rec = NodeRecord("a", "t", status="done", outputs={"out": 1})
    store.record_node("r2", rec, seq=0)
    rec.outputs = {"out": 2}  # a later change to the live record is not what was saved
    loaded = store.load("r2")
    assert loaded.result.status == "running"
    assert loaded.result.nodes["a"].outputs == {"out": 1}
    assert loaded.result.inputs == {"n": 1}
    res.status = "succeeded"
    res.nodes = {"a": rec}
    res.ended_at = 9.0
    store.record_finish(res)
    loaded = store.load("r2")
    assert loaded.result.status == "succeeded"
    assert loaded.result.nodes["a"].outputs == {"out": 2}
    assert loaded.summary.source == "notebook"  # finish keeps what start recorded
    assert loaded.flow_text == "{}"


def test_node_order_follows_seq(store: RunStore):
    store.record_start(RunResult(run_id="r", flow="f"))
    for seq, nid in [(2, "c"), (0, "a"), (1, "b")]:
        store.record_node("r", NodeRecord(nid, "t", status="done"), seq=seq)
    assert list(store.get("r").nodes) == ["a", "b", "c"]


def test_media_goes_to_blobs_once_and_comes_back(store: RunStore):
    img = _png(7)
    res = _run("m1", outputs={"photo": img, "many": [img, _png(8)]})
    res.nodes["a"].outputs = {"image": img}
    store.save(res)
    store.save(_run("m2", outputs={"photo": img}))
    got = store.get("m1")
    assert got.outputs["photo"] == img and got.outputs["photo"].data == img.data
    assert got.outputs["many"][1].data == _png(8).data
    assert got.nodes["a"].outputs["image"].data == img.data
    assert sorted(store._blob_shas()) == sorted({img.sha256, _png(8).sha256})


def test_secrets_in_errors_are_redacted(store: RunStore):
    res = _run("s1", status="failed")
    res.error = "openai (HTTP 401): Incorrect API key provided: sk-abcdefghijklmnopqrstuvwx"
    res.nodes["a"].error = {"message": "bad key sk-abcdefghijklmnopqrstuvwx", "type": "ProviderError"}
    store.save(res)
    got = store.get("s1")
    assert "sk-abc" not in got.error and "[redacted]" in got.error
    assert "sk-abc" not in got.nodes["a"].error["message"]


def test_list_filters_and_order(store: RunStore):
    store.save(_run("old", flow="a", started=100.0), source="cli")
    store.save(_run("mid", flow="b", status="failed", started=200.0), source="server")
    store.save(_run("new", flow="a", status="failed", started=300.0), source="cli")
    assert [r.id for r in store.list_runs()] == ["new", "mid", "old"]
    assert [r.id for r in store.list_runs(flow="a")] == ["new", "old"]
    assert [r.id for r in store.list_runs(status="failed")] == ["new", "mid"]
    assert [r.id for r in store.list_runs(status=["succeeded", "failed"], flow="a")] == ["new", "old"]
    assert [r.id for r in store.list_runs(source="server")] == ["mid"]
    assert [r.id for r in store.list_runs(since=150.0)] == ["new", "mid"]
    assert [r.id for r in store.list_runs(until=300.0)] == ["mid", "old"]
    assert [r.id for r in store.list_runs(limit=1, offset=1)] == ["mid"]
    assert store.list_runs(status="failed")[0].error == "node 'a': boom"
    assert store.list_runs(flow="a")[0].duration == 2


def test_delete_and_prune(store: RunStore):
    keep_img, drop_img = _png(1), _png(2)
    store.save(_run("r1", started=100.0, outputs={"i": drop_img}))
    store.save(_run("r2", started=200.0, outputs={"i": keep_img}))
    store.save(_run("r3", started=300.0))
    store.record_start(RunResult(run_id="live", flow="f", started_at=50.0))
    store.save(_run("waiting", status="paused", started=60.0))
    with pytest.raises(StoreError, match="prune needs"):
        store.prune()
    assert store.prune(before=250.0) == 2  # r1 and r2; the running and paused runs stay
    assert [r.id for r in store.list_runs()] == ["r3", "waiting", "live"]
    assert store._blob_shas() == []  # nothing refers to the images any more
    assert store.prune(keep_last=1, status="paused") == 0  # the only paused run is the newest one kept
    assert store.prune(keep_last=0, status=["paused", "running"]) == 2
    assert store.delete("r3") is True
    assert store.delete("r3") is False
    assert store.list_runs() == []


def test_prune_keeps_blobs_still_used(store: RunStore):
    img = _png(3)
    store.save(_run("r1", started=100.0, outputs={"i": img}))
    store.save(_run("r2", started=200.0, outputs={"i": img}))
    assert store.prune(before=150.0) == 1
    assert store.get("r2").outputs["i"].data == img.data


def test_approvals(store: RunStore):
    store.save(_run("p1", status="paused"))
    store.save(_run("p2", status="paused"))
    store.add_approval(Approval(run_id="p1", node_id="review", reason="Publish?",
                                data={"value": "draft", "image": _png(4)}, created_at=10.0,
                                deadline=20.0, default="reject"))
    store.add_approval(Approval(run_id="p2", node_id="review", reason="OK?", created_at=11.0))
    pending = store.approvals()
    assert [(a.run_id, a.node_id) for a in pending] == [("p1", "review"), ("p2", "review")]
    assert pending[0].data["value"] == "draft" and pending[0].data["image"].data == _png(4).data
    assert [a.run_id for a in store.expired_approvals(now=25.0)] == ["p1"]
    assert store.expired_approvals(now=15.0) == []
    store.decide("p1", "review", {"approved": True, "value": "edited"})
    assert [a.run_id for a in store.approvals()] == ["p2"]
    done = store.approvals("p1", pending=False)[0]
    assert done.decision == {"approved": True, "value": "edited"} and done.decided_at is not None
    assert store.load("p1").approvals[0].decision["approved"] is True
    with pytest.raises(StoreError, match="no approval at node 'x'"):
        store.decide("p1", "x", {"approved": True})
    with pytest.raises(StoreError, match="no run 'zz'"):
        store.add_approval(Approval(run_id="zz", node_id="n"))
    store.delete("p1")
    assert store.approvals("p1", pending=False) == []


def test_missing_blob_is_a_clear_error(store: RunStore):
    with pytest.raises(StoreError, match="media blob 0000000000"):
        store.get_blob("0" * 64)


def test_writes_from_threads(store: RunStore):
    store.record_start(RunResult(run_id="t", flow="f"))

    def work(k: int) -> None:
        for i in range(20):
            store.record_node("t", NodeRecord(f"n{k}_{i}", "t", status="done", outputs={"v": i}), seq=k * 100 + i)

    threads = [threading.Thread(target=work, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(store.get("t").nodes) == 80


def test_summary_times(store: RunStore):
    before = time.time()
    store.save(_run("x"))
    s = store.summary("x")
    assert s.updated_at >= before
    assert s.started_at == 1000.0 and s.ended_at == 1002.0


def test_a_decision_is_never_overwritten(store: RunStore):
    store.save(_run("p", status="paused"))
    store.add_approval(Approval(run_id="p", node_id="review", created_at=1.0))
    store.decide("p", "review", {"approved": False})
    with pytest.raises(StoreError, match="was decided already"):
        store.decide("p", "review", {"approved": True})
    assert store.approvals("p", pending=False)[0].decision == {"approved": False}


def test_claim_is_a_compare_and_set_with_owner_and_lease(store: RunStore):
    assert store.lease("r") is None
    a = store.claim("r", "host:1:a", ttl=30)
    assert a is not None and a.owner == "host:1:a" and a.live() and (a.pid, a.host) == (1, "host")
    assert store.claim("r", "host:2:b", ttl=30) is None          # another owner: refused
    again = store.claim("r", "host:1:a", ttl=60)                  # the owner: extended, same acquired_at
    assert again is not None and again.acquired_at == a.acquired_at and again.expires_at > a.expires_at
    assert store.renew("r", "host:1:a", ttl=30) and not store.renew("r", "host:2:b", ttl=30)
    assert not store.release("r", "host:2:b")
    assert store.lease("r").owner == "host:1:a"
    assert store.release("r", "host:1:a") and store.lease("r") is None
    assert store.claim("r", "host:2:b", ttl=30) is not None       # free again


def test_an_expired_lease_can_be_taken_and_the_old_owner_cannot_renew(store: RunStore):
    assert store.claim("r", "old", ttl=0.05) is not None
    time.sleep(0.1)
    assert not store.lease("r").live()
    assert store.claim("r", "new", ttl=30) is not None
    assert not store.renew("r", "old", ttl=30)
    assert store.claim("r", "other", ttl=30) is None
    assert store.claim("r", "other", ttl=30, force=True).owner == "other"


def test_claims_race_from_threads_one_winner(store: RunStore):
    for round_ in range(20):
        barrier = threading.Barrier(4)
        wins: list[str] = []

        def claim(me: str, rid: str = f"race{round_}", b: threading.Barrier = barrier) -> None:
            b.wait()
            if store.claim(rid, me, ttl=30) is not None:
                wins.append(me)

        threads = [threading.Thread(target=claim, args=(f"o{k}",)) for k in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert len(wins) == 1


def test_leases_go_with_their_run(store: RunStore):
    store.save(_run("gone"))
    store.claim("gone", "me", ttl=30)
    store.delete("gone")
    assert store.lease("gone") is None


def test_mark_interrupted(store: RunStore):
    store.record_start(RunResult(run_id="i", flow="f"))
    store.mark_interrupted("i", store.claim("i", "h:42:x", ttl=30))
    s = store.summary("i")
    assert s.status == "interrupted" and s.ended_at is not None
    assert s.error.startswith("interrupted: process 42 on h (lease until ")
    assert s.error.endswith("stopped; resume it with: nbflow resume i")
    assert [r.id for r in store.list_runs(status="interrupted")] == ["i"]
    assert store.prune(keep_last=0) == 0  # an interrupted run waits to be resumed, like a paused one


def test_remember_keys_within_their_window(store: RunStore):
    assert store.remember("sig-1", ttl=30)
    assert not store.remember("sig-1", ttl=30)
    assert store.remember("sig-2", ttl=0.05)
    time.sleep(0.1)
    assert store.remember("sig-2", ttl=30)  # its window passed: forgotten


def test_charges_add_up_per_scope_and_period(store: RunStore):
    assert store.spent("flow:f", "2026-12-02") == 0.0
    assert store.charge(0.25, [("flow:f", "2026-12-02", 1.0), ("run:r1", "", None)]) is None
    assert store.charge(0.5, [("flow:f", "2026-12-02", 1.0), ("run:r1", "", None)]) is None
    assert store.charge(0.1, [("flow:f", "2026-12-03", 1.0)]) is None
    assert store.spent("flow:f", "2026-12-02") == pytest.approx(0.75)
    assert store.spent("run:r1") == pytest.approx(0.75)
    assert store.spend_rows(period="2026-12-02") == [("flow:f", "2026-12-02", pytest.approx(0.75), 1.0)]
    assert store.spend_rows(scope="run:r1") == [("run:r1", "", pytest.approx(0.75), None)]
    assert [r[:2] for r in store.spend_rows(scope="flow:f")] == [("flow:f", "2026-12-02"), ("flow:f", "2026-12-03")]


def test_a_charge_past_a_cap_adds_nothing_anywhere(store: RunStore):
    assert store.charge(0.75, [("flow:f", "d", 1.0), ("key:k", "d", 5.0)]) is None
    # The key has room but the flow does not: all or none.
    assert store.charge(0.5, [("flow:f", "d", 1.0), ("key:k", "d", 5.0)]) == ("flow:f", "d", pytest.approx(0.75), 1.0)
    assert store.spent("key:k", "d") == pytest.approx(0.75)
    assert store.charge(0.25, [("flow:f", "d", 1.0)]) is None  # exactly up to the cap passes
    assert store.charge(0.01, [("flow:f", "d", 1.0)]) is not None
    assert store.charge(-0.5, [("flow:f", "d", 1.0)]) is None  # giving back is never refused
    assert store.spent("flow:f", "d") == pytest.approx(0.5)
    assert store.charge(2.0, [("flow:f", "d", 1.0)], check=False) is None  # an approved call over the cap
    assert store.charge(0.5, [("flow:f", "d", None)], check=False) is None  # a cap not given keeps the last one
    assert store.spend_rows(scope="flow:f") == [("flow:f", "d", pytest.approx(3.0), 1.0)]


def test_charges_race_from_threads_never_pass_the_cap(store: RunStore):
    passed: list[bool] = []
    lock = threading.Lock()

    def go() -> None:
        for _ in range(10):
            ok = store.charge(1.0, [("flow:race", "d", 7.0)]) is None
            with lock:
                passed.append(ok)

    threads = [threading.Thread(target=go) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert passed.count(True) == 7
    assert store.spent("flow:race", "d") == pytest.approx(7.0)


def test_a_runs_spend_row_goes_with_the_run(store: RunStore):
    store.save(_run("gone"))
    assert store.charge(0.5, [("run:gone", "", 1.0), ("flow:f", "d", None)]) is None
    assert store.delete("gone")
    assert store.spend_rows() == [("flow:f", "d", pytest.approx(0.5), None)]  # the day's flow spend stays
