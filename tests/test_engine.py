"""The engine: ready-queue scheduling, policies, cache, events, cancellation, records."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest

import nbflow
from nbflow.engine.cache import MemoryCache
from nbflow.engine.execute import Execution
from nbflow.engine.policies import Retry
from tests import nodes_for_tests as T

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(autouse=True)
def _reset():
    T.reset()
    yield
    T.reset()


@pytest.fixture
def reg():
    return T.make_registry()


def make(reg, *nodes, edges=(), **defaults):
    flow = nbflow.Flow("t", registry=reg)
    for node in nodes:
        node = dict(node)
        nid, typ = node.pop("id"), node.pop("type")
        policy = node.pop("policy", None)
        flow.add(typ, id=nid, policy=policy, **node)
    for a, b in edges:
        flow.connect(a, b)
    for k, v in defaults.items():
        setattr(flow.spec.defaults, k, v)
    return flow


def test_node_starts_as_soon_as_its_inputs_exist(reg):
    # slow -> after_slow; fast -> after_fast. after_fast must start long before slow finishes.
    flow = make(reg, {"id": "slow", "type": "t.echo", "sleep": 0.3}, {"id": "fast", "type": "t.echo"},
                {"id": "after_slow", "type": "t.echo"}, {"id": "after_fast", "type": "t.echo"},
                edges=[("slow.out", "after_slow.x"), ("fast.out", "after_fast.x")])
    events: list[tuple[str, str | None]] = []
    res = flow.run(on_event=lambda e: events.append((e.kind, e.node_id)))
    assert res.status == "succeeded"
    # Order, not wall-clock bounds: after_fast ran to the end while slow was still running.
    assert events.index(("node_finished", "after_fast")) < events.index(("node_finished", "slow"))
    assert events.index(("node_finished", "slow")) < events.index(("node_started", "after_slow"))


def test_independent_branches_run_concurrently(reg):
    nodes = [{"id": f"n{i}", "type": "t.echo", "sleep": 0.2} for i in range(10)]
    flow = make(reg, *nodes)
    kinds: list[str] = []
    assert flow.run(on_event=lambda e: kinds.append(e.kind)).status == "succeeded"
    # All ten were running at once: every start comes before the first node finished.
    assert kinds.count("node_started") == 10
    assert max(i for i, k in enumerate(kinds) if k == "node_started") < kinds.index("node_finished")


def test_concurrency_cap(reg):
    nodes = [{"id": f"n{i}", "type": "t.echo", "sleep": 0.1} for i in range(4)]
    flow = make(reg, *nodes, concurrency=2)
    events = []
    flow.run(on_event=events.append)
    running = peak = 0
    for ev in events:
        if ev.kind == "node_started":
            running += 1
            peak = max(peak, running)
        elif ev.kind == "node_finished":
            running -= 1
    assert peak == 2
    assert sum(1 for e in events if e.kind == "node_queued") == 4


def test_diamond_values_flow_through(reg):
    flow = make(reg, {"id": "a", "type": "t.echo", "tag": "A"}, {"id": "b", "type": "t.echo"},
                {"id": "c", "type": "t.echo"}, {"id": "d", "type": "t.echo"},
                edges=[("a.out", "b.x"), ("a.out", "c.x"), ("b.out", "d.x"), ("c.out", "d.y")])
    res = flow.run()
    assert res.nodes["d"].outputs == {"out": "A+A"}
    assert T.CALLS["a"] == 1


def test_retry_with_backoff_then_success(reg):
    flow = make(reg, {"id": "f", "type": "t.flaky", "fail_times": 2,
                      "policy": {"retry": {"attempts": 3, "backoff": 0.01, "jitter": False}}})
    events = []
    res = flow.run(on_event=events.append)
    assert res.status == "succeeded"
    assert res.nodes["f"].attempts == 3
    assert [e.data["attempt"] for e in events if e.kind == "retry"] == [1, 2]
    assert [e.data["delay"] for e in events if e.kind == "retry"] == [0.01, 0.02]
    assert [h["error"] for h in res.nodes["f"].history] == ["failure 1", "failure 2"]


def test_non_retryable_error_is_not_retried(reg):
    flow = make(reg, {"id": "f", "type": "t.flaky", "fail_times": 5, "retryable": False,
                      "policy": {"retry": {"attempts": 4, "backoff": 0.01}}})
    res = flow.run()
    assert res.status == "failed"
    assert T.CALLS["f"] == 1
    assert res.nodes["f"].error == {"message": "failure 1", "type": "NodeError", "attempts": 1, "status": 503}
    assert res.error == "node 'f': failure 1"


def test_retry_after_is_honoured(reg):
    flow = make(reg, {"id": "f", "type": "t.flaky", "fail_times": 1, "retry_after": 0.25,
                      "policy": {"retry": {"attempts": 2, "backoff": 0.001}}})
    t = time.perf_counter()
    res = flow.run()
    assert res.status == "succeeded"
    assert time.perf_counter() - t >= 0.25


def test_full_jitter_stays_within_the_bound():
    r = Retry(attempts=5, backoff=1.0, multiplier=2.0, max_backoff=5.0)
    for attempt, bound in ((1, 1.0), (2, 2.0), (3, 4.0), (4, 5.0)):
        delays = [r.delay(attempt) for _ in range(200)]
        assert all(0 <= d <= bound for d in delays)
        assert max(delays) > bound * 0.5  # really random, not always 0
    assert r.delay(1, retry_after=30) == 30


def test_timeout_fails_the_node_and_is_retried(reg):
    flow = make(reg, {"id": "s", "type": "t.echo", "sleep": 1.0,
                      "policy": {"timeout": 0.05, "retry": {"attempts": 2, "backoff": 0.0}}})
    res = flow.run()
    assert res.status == "failed"
    assert res.nodes["s"].attempts == 2
    assert res.nodes["s"].error["message"] == "timed out after 0.05s"


def test_fallback_node_takes_over(reg):
    flow = make(reg, {"id": "src", "type": "t.echo", "tag": "in"},
                {"id": "main", "type": "t.flaky", "fail_times": 9, "retryable": False,
                 "policy": {"fallback": ["backup"]}},
                {"id": "backup", "type": "t.echo"},
                {"id": "after", "type": "t.echo"},
                edges=[("src.out", "main.x"), ("main.out", "after.x")])
    events = []
    res = flow.run(on_event=events.append)
    assert res.status == "succeeded"
    assert res.nodes["main"].fallback == "backup"
    assert res.nodes["after"].outputs == {"out": "in"}  # backup echoed main's input
    assert "backup" not in res.nodes  # a standby node does not run on its own
    assert [e.data["to"] for e in events if e.kind == "fallback"] == ["backup"]


def test_cache_recomputes_only_the_edited_node_and_its_dependents(reg):
    flow = make(reg, {"id": "a", "type": "t.echo", "tag": "A"}, {"id": "b", "type": "t.echo", "tag": "B"},
                {"id": "c", "type": "t.echo"}, {"id": "d", "type": "t.echo"},
                edges=[("a.out", "c.x"), ("b.out", "c.y"), ("c.out", "d.x")])
    flow.run()
    assert dict(T.CALLS) == {"a": 1, "b": 1, "c": 1, "d": 1}
    res = flow.run()
    assert dict(T.CALLS) == {"a": 1, "b": 1, "c": 1, "d": 1}
    assert {r.status for r in res.nodes.values()} == {"cached"}
    flow.set_params("b", tag="B2")
    res = flow.run()
    assert dict(T.CALLS) == {"a": 1, "b": 2, "c": 2, "d": 2}
    assert res.nodes["a"].status == "cached"
    assert res.nodes["d"].outputs == {"out": "A+B2"}


def test_cache_key_depends_on_graph_inputs(reg):
    flow = nbflow.Flow("k", registry=reg)
    flow.add("input.text", id="q")
    flow.add("t.echo", id="e")
    flow.connect("q.value", "e.x")
    flow.run(q="one")
    flow.run(q="one")
    flow.run(q="two")
    assert T.CALLS["e"] == 2


def test_cache_can_be_turned_off_per_node(reg):
    flow = make(reg, {"id": "a", "type": "t.echo", "policy": {"cache": False}}, {"id": "b", "type": "t.echo"})
    flow.run()
    flow.run()
    assert T.CALLS == {"a": 2, "b": 1}


def test_cache_keys_are_linear_not_ancestry_rehashes(reg):
    n = 2000
    flow = nbflow.Flow("long", registry=reg)
    for i in range(n):
        flow.spec.nodes.append(nbflow.model.NodeSpec(id=f"n{i}", type="t.echo"))
        if i:
            flow.spec.edges.append(nbflow.model.EdgeSpec.model_validate({"from": f"n{i-1}.out", "to": f"n{i}.x"}))
    res = flow.run(cache=MemoryCache())
    assert res.status == "succeeded"
    keys = {r.key for r in res.nodes.values()}
    assert len(keys) == n  # every node has its own key, each derived from its predecessor's


def test_events_in_order_with_kinds(reg):
    flow = make(reg, {"id": "a", "type": "t.echo"}, {"id": "b", "type": "t.echo"}, edges=[("a.out", "b.x")])
    events = []
    res = flow.run(on_event=events.append)
    kinds = [(e.kind, e.node_id) for e in events]
    assert kinds[0] == ("run_started", None)
    assert kinds[-1] == ("run_finished", None)
    assert kinds.index(("node_finished", "a")) < kinds.index(("node_started", "b"))
    assert events[-1].data["status"] == "succeeded"
    assert all(e.run_id == res.run_id for e in events)
    assert events[1].to_json()["node_id"] == "a"


def test_branch_not_taken_is_skipped_not_failed(reg):
    flow = make(reg, {"id": "src", "type": "t.echo", "tag": "v"}, {"id": "p", "type": "t.pick", "port": "a"},
                {"id": "on_a", "type": "t.echo"}, {"id": "on_b", "type": "t.echo"},
                {"id": "after_b", "type": "t.echo"},
                edges=[("src.out", "p.x"), ("p.a", "on_a.x"), ("p.b", "on_b.x"), ("on_b.out", "after_b.x")])
    res = flow.run()
    assert res.nodes["on_a"].outputs == {"out": "v"}
    # Its only input is optional, but it is wired from the route not taken: skipped, and so is after_b.
    assert res.nodes["on_b"].status == "skipped"
    assert res.nodes["after_b"].status == "skipped"
    assert res.status == "succeeded"


def test_required_input_not_produced_skips_dependents():
    flow = nbflow.Flow("skip", registry=T.make_registry())
    flow.add("t.echo", id="src", tag="hello")
    flow.add("t.pick", id="p", port="a")
    flow.add("template", id="on_b", template="B got {{v}}")
    flow.add("template", id="after_b", template="{{w}}!")
    flow.add("template", id="on_a", template="A got {{v}}")
    flow.add("output", id="out_a")
    flow.add("output", id="out_b")
    for a, b in [("src.out", "p.x"), ("p.a", "on_a.v"), ("p.b", "on_b.v"), ("on_b.text", "after_b.w"),
                 ("on_a.text", "out_a.value"), ("after_b.text", "out_b.value")]:
        flow.connect(a, b)
    res = flow.run()
    assert res.status == "succeeded"
    assert res.outputs == {"out_a": "A got hello"}
    assert res.nodes["on_b"].status == "skipped"
    assert "branch not taken" in res.nodes["on_b"].reason
    assert res.nodes["after_b"].status == "skipped"
    assert res.nodes["out_b"].status == "skipped"


def test_failure_skips_dependents_but_independent_branches_finish(reg):
    flow = make(reg, {"id": "bad", "type": "t.flaky", "fail_times": 9, "retryable": False},
                {"id": "after_bad", "type": "t.echo"}, {"id": "good", "type": "t.echo", "sleep": 0.05},
                edges=[("bad.out", "after_bad.x")])
    flow.set_params("after_bad", tag="x")
    res = flow.run()
    assert res.status == "failed"
    assert res.nodes["good"].status == "done"
    # after_bad's input is optional, but it is wired from a failed node: skipped, not run without it
    assert res.nodes["after_bad"].status == "skipped"
    assert res.nodes["after_bad"].reason == "upstream node 'bad' failed"


def test_bad_node_output_type_is_a_clear_node_error(reg):
    flow = make(reg, {"id": "b", "type": "t.bad"})
    res = flow.run()
    assert res.status == "failed"
    assert res.nodes["b"].error["message"] == "output 'out': expected a number, got str"


def test_cancellation_stops_running_nodes(reg):
    flow = make(reg, {"id": "slow", "type": "t.echo", "sleep": 5}, {"id": "after", "type": "t.echo"},
                edges=[("slow.out", "after.x")])

    async def go():
        handle = flow.start()
        await asyncio.sleep(0.05)
        handle.cancel()
        return await asyncio.wait_for(handle, 2)

    res = asyncio.run(go())
    assert res.status == "cancelled"
    assert res.nodes["slow"].status == "cancelled"
    assert "after" not in res.nodes or res.nodes["after"].status == "pending"


def test_cancel_reaches_the_node_run_in_the_callers_task_and_leaves_that_task_usable(reg):
    # The first ready node runs in the task that awaits run(); cancel() must stop it there too, and the
    # cancellation it caused must not leak into the caller's later awaits.
    flow = make(reg, {"id": "slow", "type": "t.echo", "sleep": 5}, {"id": "other", "type": "t.echo", "sleep": 5})

    async def go():
        ex = Execution(flow.validate())
        asyncio.get_running_loop().call_later(0.05, ex.cancel)
        res = await asyncio.wait_for(ex.run(), 2)
        await asyncio.sleep(0.01)
        return res

    res = asyncio.run(go())
    assert res.status == "cancelled"
    assert {r.status for r in res.nodes.values()} == {"cancelled"}


def test_outer_task_cancellation_propagates(reg):
    flow = make(reg, {"id": "slow", "type": "t.echo", "sleep": 5})
    events = []

    async def go():
        task = asyncio.ensure_future(flow.arun(on_event=events.append))
        await asyncio.sleep(0.05)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(go())
    assert events[-1].kind == "run_finished" and events[-1].data["status"] == "cancelled"


def test_run_record_round_trips_through_json(reg):
    flow = make(reg, {"id": "a", "type": "t.echo"}, {"id": "f", "type": "t.flaky", "fail_times": 1,
                                                     "policy": {"retry": {"backoff": 0.0}}})
    res = flow.run()
    data = res.to_json()
    again = nbflow.RunResult.from_json(data)
    assert again.to_json() == data
    assert data["nodes"]["f"]["attempts"] == 2
    assert data["nodes"]["f"]["history"] == again.nodes["f"].history != []


def test_targets_run_only_what_the_node_needs(reg):
    flow = make(reg, {"id": "a", "type": "t.echo"}, {"id": "b", "type": "t.echo"}, {"id": "c", "type": "t.echo"},
                edges=[("a.out", "b.x")])
    res = flow.run(targets=["b"])
    assert set(res.nodes) == {"a", "b"}
    assert "c" not in T.CALLS


class CachingStore:
    """A secrets manager that keeps what it fetched until told to forget (as the Vault store does)."""

    def __init__(self) -> None:
        self.fetches = 0
        self.forgets = 0
        self._kept: str | None = None

    def get(self, name: str) -> str | None:
        if name != "TOKEN":
            return None
        if self._kept is None:
            self.fetches += 1
            self._kept = "tok-5f2a91c3e8"
        return self._kept

    def forget(self) -> None:
        self.forgets += 1
        self._kept = None


def test_providers_are_made_when_a_node_first_asks_and_kept_for_that_run(reg):
    """A run whose nodes ask for no provider or secret makes no providers (the provider catalog stays
    unloaded); a node asking ``ctx`` for a secret mid-run gets them, and what the secrets manager fetched
    is kept for the rest of that run (fetched once for two nodes) and forgotten when it ends."""
    from nbflow.providers.catalog import Providers
    from nbflow.providers.secrets import Secrets

    store, made = CachingStore(), []

    def make_providers() -> Providers:
        made.append(1)
        return Providers(Secrets(store))

    plain = make(reg, {"id": "a", "type": "t.echo"}, {"id": "b", "type": "t.echo"}, edges=[("a.out", "b.x")])
    res = asyncio.run(Execution(plain.validate(), make_providers=make_providers).run())
    assert res.status == "succeeded" and made == []
    flow = make(reg, {"id": "a", "type": "t.secret"}, {"id": "b", "type": "t.secret"}, edges=[("a.out", "b.x")])
    for run in (1, 2):
        res = asyncio.run(Execution(flow.validate(), make_providers=make_providers).run())
        assert res.status == "succeeded" and res.nodes["b"].outputs == {"out": "got it"}
        assert (len(made), store.fetches, store.forgets) == (run, run, run)
