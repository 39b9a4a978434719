"""`Flow`: the object users build, edit, save and run, in a notebook or from code.

The canvas edits the same object: every change goes through the methods here, which bump a version and notify
observers, so a ``flow.connect(...)`` in a cell shows on a displayed canvas and a wire drawn on it is in ``flow``.
"""

from __future__ import annotations

import importlib
import re
import sys
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from nbflow.caching import CacheChoice, resolve_cache
from nbflow.engine.cache import Cache, MemoryCache
from nbflow.engine.execute import Execution
from nbflow.engine.plan import Plan, compile_flow, make_node
from nbflow.engine.sync import RunHandle, run_sync
from nbflow.exceptions import FlowError, UsageError
from nbflow.model.events import Listener
from nbflow.model.record import RunResult
from nbflow.model.refs import parse_ref
from nbflow.model.unset import UNSET
from nbflow.nodes.registry import Registry
from nbflow.nodes.registry import registry as default_registry
from nbflow.providers.intercept import current_interceptor
from nbflow.providers.pricing import cost_of

if TYPE_CHECKING:
    from nbflow.engine.wiring import WiringIndex
    from nbflow.model.spec import FlowSpec, LayoutSpec, NodeSpec, PolicySpec
    from nbflow.providers.catalog import Providers

__all__ = ["EDITOR", "Flow", "load"]

#: The front end ``Flow.edit()`` opens, as ``module:attribute``.
EDITOR = "nbflow.widget:Editor"

Observer = Callable[[dict[str, Any]], None]
_ID_SAFE = re.compile(r"[^A-Za-z0-9_\-]")


class Flow:
    """A workflow: nodes, edges, defaults and layout, plus the means to run it.

    Build one in code::

        flow = Flow("product-copy")
        flow.add("input.text", id="product", default="a ceramic teapot")
        flow.add("template", id="prompt", template="Write product copy for {{product}}.")
        flow.add("llm", id="copy")
        flow.add("output", id="result")
        flow.connect("product.value", "prompt.product")
        flow.connect("prompt.text", "copy.prompt")
        flow.connect("copy.text", "result.value")
        flow.run().outputs["result"]
    """

    def __init__(self, name: str = "flow", *, description: str = "", spec: FlowSpec | None = None,
                 registry: Registry | None = None) -> None:
        from nbflow.model.spec import new_flow  # the flow-file models (pydantic) load with the first flow
        self.spec = spec if spec is not None else new_flow(name, description)
        self.registry = registry or default_registry
        self.source: str | None = None
        self.cache: Cache = MemoryCache()
        self._providers: Providers | None = None
        self.last_result: RunResult | None = None
        self._ran_plan: Plan | None = None
        self._version = 0
        self._plan: tuple[int, Plan] | None = None
        self._wiring: WiringIndex | None = None
        self._observers: list[Observer] = []
        self._run_observers: list[Callable[[RunResult], None]] = []

    # -- io ---------------------------------------------------------------------------------------

    @classmethod
    def load(cls, path: str | Path, *, registry: Registry | None = None) -> Flow:
        """Read a flow file (migrating older formats) and validate it against the registry."""
        from nbflow.model.io import read_spec
        flow = cls(spec=read_spec(path), registry=registry)
        flow.source = str(path)
        flow.validate()
        return flow

    @classmethod
    def loads(cls, text: str | bytes, *, source: str | None = None, registry: Registry | None = None) -> Flow:
        """Parse flow JSON text and validate it."""
        from nbflow.model.io import loads_spec
        flow = cls(spec=loads_spec(text, source=source), registry=registry)
        flow.source = source
        flow.validate()
        return flow

    def dumps(self) -> str:
        """Canonical JSON text: identical flows give identical bytes."""
        from nbflow.model.io import dumps_spec
        return dumps_spec(self.spec)

    def save(self, path: str | Path) -> Path:
        """Write the canonical JSON to ``path`` (atomically: a crash never leaves half a file)."""
        p = Path(path)
        tmp = p.with_name(f".{p.name}.tmp")
        tmp.write_text(self.dumps(), encoding="utf-8")
        tmp.replace(p)
        self.source = str(p)
        return p

    def copy(self) -> Flow:
        """An independent copy (same registry)."""
        return Flow(spec=self.spec.model_copy(deep=True), registry=self.registry)

    @property
    def providers(self) -> Providers:
        """Provider lookup and secrets for this flow's runs; made when first asked for (by a node that
        calls a provider or reads a secret, or by you), so a flow that calls none never loads them."""
        if self._providers is None:
            from nbflow.providers.catalog import Providers

            self._providers = Providers()
        return self._providers

    @providers.setter
    def providers(self, providers: Providers) -> None:
        self._providers = providers

    # -- reading ----------------------------------------------------------------------------------

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def nodes(self) -> dict[str, NodeSpec]:
        """Node id -> node spec (read only; change nodes through the methods)."""
        return {n.id: n for n in self.spec.nodes}

    @property
    def edges(self) -> list[tuple[str, str]]:
        """``(from, to)`` pairs like ``("copy.text", "result.value")``."""
        return [(e.from_, e.to) for e in self.spec.edges]

    @property
    def version(self) -> int:
        """Bumped by every change; the canvas and the plan cache use it."""
        return self._version

    def node(self, node_id: str) -> NodeSpec:
        nodes = self.spec.nodes
        i = self._index().pos.get(node_id)
        if i is not None and i < len(nodes) and nodes[i].id == node_id:
            return nodes[i]
        raise FlowError("no such node", node=node_id)

    def position(self, node_id: str) -> tuple[float, float]:
        p = self.spec.layout.nodes.get(node_id)
        return (p.x, p.y) if p else (0.0, 0.0)

    @property
    def inputs(self) -> dict[str, dict[str, Any]]:
        """Graph input name -> ``{"type", "required", "default", "description", "node"}``."""
        plan = self.validate()
        return {name: {"type": pn.impl.value_type, "required": pn.impl.required,  # type: ignore[attr-defined]
                       "default": pn.impl.default, "description": pn.impl.params.description,  # type: ignore[attr-defined]
                       "node": pn.id}
                for name, pn in plan.inputs.items()}

    @property
    def outputs(self) -> list[str]:
        """Graph output names."""
        return list(self.validate().outputs)

    def validate(self) -> Plan:
        """Check the flow against the registry; returns the compiled plan (cached until a change)."""
        if self._plan is not None and self._plan[0] == self._version:
            return self._plan[1]
        try:
            with self._compiling():
                plan = compile_flow(self.spec, self.registry)
        except FlowError as exc:
            if self.source:
                exc.with_source(self.source)
            raise
        self._plan = (self._version, plan)
        if self.spec.pins:
            from nbflow.pins import check_pins

            try:
                check_pins(self)
            except FlowError as exc:
                self._plan = None
                if self.source:
                    exc.with_source(self.source)
                raise
        return plan

    def _compiling(self) -> Any:
        """Sub-flow paths in this flow resolve next to its file."""
        from nbflow.nodes.control_subflow import flow_context  # a node type module: loaded on first edit

        return flow_context(self.source)

    # -- editing ----------------------------------------------------------------------------------

    def observe_runs(self, fn: Callable[[RunResult], None]) -> Callable[[], None]:
        """Call ``fn(result)`` whenever a run of this flow ends (from a cell, the canvas or a resume).

        Returns a function that stops observing. A displayed canvas uses this to show the statuses and
        outputs of a ``flow.run()`` made in a cell.
        """
        self._run_observers.append(fn)
        return lambda: self._run_observers.remove(fn) if fn in self._run_observers else None

    def ran(self, result: RunResult) -> None:
        """Record ``result`` as this flow's last run and tell the run observers."""
        self.last_result = result
        for fn in list(self._run_observers):
            fn(result)

    def observe(self, fn: Observer) -> Callable[[], None]:
        """Call ``fn(change)`` after every change; returns a function that stops observing."""
        self._observers.append(fn)
        return lambda: self._observers.remove(fn) if fn in self._observers else None

    def _changed(self, kind: str, **info: Any) -> None:
        self._version += 1
        change = {"kind": kind, **info}
        for fn in list(self._observers):
            fn(change)

    def _index(self) -> WiringIndex:
        """What add/connect check against, kept up to date by them (rebuilt after other edits)."""
        idx = self._wiring
        if idx is None or idx.registry is not self.registry or idx.stale(self.spec):
            from nbflow.engine.wiring import WiringIndex  # only flows edited in code need it

            idx = self._wiring = WiringIndex(self.spec, self.registry, self._compiling)
        return idx

    def _new_id(self, base: str) -> str:
        base = _ID_SAFE.sub("_", base.split(".")[-1]) or "node"
        if not base[0].isalpha() and base[0] != "_":
            base = "n_" + base
        return self._index().new_id(base)

    def add(self, type: str, id: str | None = None, *, title: str | None = None,
            x: float | None = None, y: float | None = None, policy: dict[str, Any] | PolicySpec | None = None,
            **params: Any) -> str:
        """Add a node of ``type`` with ``params``; returns its id. Params are validated now.

        Costs O(1) in the size of the flow: only the new node is checked.
        """
        from nbflow.model.spec import PolicySpec, new_node, new_position
        idx = self._index()
        node_id = id or self._new_id(type)
        if node_id in idx.pos:
            raise FlowError("duplicate node id", node=node_id)
        pol = PolicySpec.model_validate(policy) if isinstance(policy, dict) else policy
        if type in self.registry:  # e.g. provider="openai" with no model: that provider's default model
            params = self.registry.get(type).adjust_params({}, dict(params))
        spec = new_node(node_id, type, title=title, params=dict(params), policy=pol)
        if x is None or y is None:
            k = len(self.spec.nodes)
            x, y = 40 + 260 * (k % 4), 40 + 170 * (k // 4)
        pos = new_position(x, y, node=node_id)
        with self._compiling():
            impl = make_node(spec, self.registry)  # validate type and params before the node exists
        self.spec.nodes.append(spec)
        idx.added(self.spec, spec, impl)
        self.spec.layout.nodes[node_id] = pos
        self._changed("add", node=node_id)
        return node_id

    def remove(self, node_id: str) -> None:
        """Remove a node and every edge touching it."""
        self.node(node_id)
        self.spec.nodes = [n for n in self.spec.nodes if n.id != node_id]
        self.spec.edges = [e for e in self.spec.edges
                           if parse_ref(e.from_)[0] != node_id and parse_ref(e.to)[0] != node_id]
        self.spec.layout.nodes.pop(node_id, None)
        self._wiring = None
        self.spec.pins.pop(node_id, None)
        self._changed("remove", node=node_id)

    def connect(self, src: str, dst: str) -> None:
        """Wire output ``src`` (``"node.port"``) to input ``dst``; checks ports, types and cycles now.

        An unfinished flow may still lack required wires; anything wrong with the new edge is refused.
        Only the new edge is checked (O(1) when edges follow the order nodes were added in), so
        building a flow edge by edge is linear; :meth:`validate` checks the whole flow before a run.
        """
        from nbflow.model.spec import new_edge
        edge = new_edge(src, dst)
        idx = self._index()
        if not idx.ordered:  # the spec was given with a cycle: let the full compile name it
            with self._compiling():
                compile_flow(self.spec, self.registry, complete=False)
        ends = idx.check_edge(self.spec, src, dst)
        self.spec.edges.append(edge)
        idx.connected(self.spec, ends)
        self._changed("connect", src=src, dst=dst)

    def disconnect(self, dst: str, src: str | None = None) -> None:
        """Remove the edge into input ``dst`` (optionally only if it comes from ``src``)."""
        before = len(self.spec.edges)
        self.spec.edges = [e for e in self.spec.edges if not (e.to == dst and (src is None or e.from_ == src))]
        if len(self.spec.edges) == before:
            raise FlowError(f"no edge into {dst}")
        self._wiring = None
        self._changed("disconnect", dst=dst, src=src)

    def set_params(self, node_id: str, **params: Any) -> None:
        """Change some params of a node (validated now; a value of None removes the param).

        Params that depend on a changed one follow it: a new ``provider`` whose model does not fit it
        (and no ``model`` given with it) gets that provider's default model.
        """
        node = self.node(node_id)
        new = {**node.params, **params}
        new = {k: v for k, v in new.items() if v is not None}
        with self._compiling():
            new = self.registry.get(node.type).adjust_params(dict(node.params), new)
            make_node(node.model_copy(update={"params": new}), self.registry)
        node.params = new
        self._index().forget(node_id)  # its ports may depend on its params
        self._changed("params", node=node_id)

    def set_title(self, node_id: str, title: str | None) -> None:
        """Set the label the canvas shows on a node (None shows its id)."""
        self.node(node_id).title = title or None
        self._changed("title", node=node_id)

    def set_policy(self, node_id: str, **policy: Any) -> None:
        """Override policy fields of a node (deadline, timeout, request_timeout, retry, rpm, tpm,
        max_concurrency, cache, fallback)."""
        node = self.node(node_id)
        from nbflow.model.spec import PolicySpec
        cur = node.policy.model_dump(exclude_none=True) if node.policy else {}
        node.policy = PolicySpec.model_validate({**cur, **policy})
        self._wiring = None  # fallbacks may have changed
        self._changed("policy", node=node_id)

    def move(self, node_id: str, x: float, y: float) -> None:
        """Move a node on the canvas (layout only)."""
        self.node(node_id)
        from nbflow.model.spec import new_position
        self.spec.layout.nodes[node_id] = new_position(x, y, node=node_id)
        self._changed("move", node=node_id)

    def set_layout(self, layout: LayoutSpec) -> None:
        """Take a new canvas layout (positions, frames, reroute points); what a run does is unchanged."""
        self.spec.layout = layout
        self._changed("layout")

    def rename(self, old: str, new: str) -> None:
        """Rename a node; edges, layout, pins and fallback references follow."""
        self.node(old)
        from nbflow.model.layout import rename_node
        rename_node(self.spec, old, new)
        self._wiring = None
        self._changed("rename", node=new, old=old)

    def replace(self, other: Flow | FlowSpec) -> None:
        """Take the contents of another flow (import into a displayed canvas)."""
        self.spec = (other.spec if isinstance(other, Flow) else other).model_copy(deep=True)
        self._wiring = None
        self._changed("replace")

    # -- running ----------------------------------------------------------------------------------

    def _execution(self, inputs: dict[str, Any] | None, kw: dict[str, Any], *,
                   on_event: Listener | Iterable[Listener] | None, cache: CacheChoice,
                   concurrency: int | None, targets: list[str] | str | None, run_id: str | None,
                   providers: Providers | None, store: Any = None, source: str = "python",
                   restore: RunResult | None = None, resume: dict[str, Any] | None = None,
                   use_pins: bool = False, start: list[str] | str | None = None,
                   only: list[str] | str | None = None) -> Execution:
        plan = self.validate()
        listeners = [] if on_event is None else ([on_event] if callable(on_event) else list(on_event))
        cache_obj = resolve_cache(cache, self.cache)
        pins = None
        if use_pins and self.spec.pins:
            from nbflow.pins import pin_values

            pins = pin_values(self, cache_obj)
        ex = Execution(plan, inputs={**(inputs or {}), **kw}, cache=cache_obj, listeners=listeners,
                       concurrency=concurrency, providers=providers or self._providers,
                       make_providers=lambda: self.providers,
                       targets=_ids(targets, "targets"), run_id=run_id, price=cost_of, restore=restore,
                       resume=resume, start=_ids(start, "start"), only=_ids(only, "only"), pins=pins)
        self._ran_plan = plan
        if store is None and "nbflow.recording" not in sys.modules:
            return ex  # no store asked for, and none configured (``use_store`` lives in nbflow.recording)
        from nbflow.recording import attach_store, resolve_store

        rs = resolve_store(store)
        if rs is not None:
            attach_store(ex, rs, self, source=source)
        return ex

    async def arun(self, inputs: dict[str, Any] | None = None, /, *, on_event: Any = None,
                   cache: CacheChoice = True, concurrency: int | None = None,
                   targets: list[str] | str | None = None, run_id: str | None = None,
                   providers: Providers | None = None, store: Any = None, source: str = "python",
                   record: str | Path | None = None, replay: str | Path | None = None,
                   record_missing: bool = False, use_pins: bool = False, start: list[str] | str | None = None,
                   only: list[str] | str | None = None, **kw_inputs: Any) -> RunResult:
        """Run the flow and return its record. Graph inputs as a dict and/or keywords.

        ``cache``: ``True`` this flow's cache (in memory, or the disk cache set by
        :func:`nbflow.use_cache`), ``False`` none, a folder path or a :class:`nbflow.DiskCache` for a
        persistent cache. ``targets``: run only what these nodes need ("up to here"). ``start``: run
        these nodes and everything downstream ("run from here") fresh, taking what they need from
        upstream out of the cache or pins; ``only``: run just these nodes that way. ``use_pins``: pinned
        nodes give their pinned outputs instead of running (see :meth:`pin`).

        ``store`` records the run as it goes (``True``: the default SQLite store; a path or a
        :class:`~nbflow.store.RunStore`; default: the store set by ``nbflow.use_store``, if any), so a
        paused or interrupted run can be resumed, also from another process.

        ``record=PATH`` writes every outbound HTTP exchange of the run to a cassette file;
        ``replay=PATH`` answers them from one with no network (a request it has no answer for fails
        its node); with ``record_missing`` a replay calls the network for what is new and adds it.
        Both run every node (the cache is not read), so the cassette holds every call. Without them, a
        cassette set around the run (``with nbflow.cassette(path):``) applies.
        """
        own = None
        if record is not None or replay is not None or record_missing:
            from nbflow.providers.cassette import cassette_session

            own = cassette_session(record=record, replay=replay, record_missing=record_missing)
        session = own or current_interceptor()  # else a ``with nbflow.cassette(...)`` around this run
        if session is not None:
            cache = False
            providers = session.providers(providers or self.providers)
        ex = self._execution(inputs, kw_inputs, on_event=on_event, cache=cache, concurrency=concurrency,
                             targets=targets, run_id=run_id, providers=providers, store=store, source=source,
                             use_pins=use_pins, start=start, only=only)
        try:
            result = await ex.run()
        finally:
            if own is not None:
                own.save()
        self.ran(result)
        return result

    def run(self, inputs: dict[str, Any] | None = None, /, *, on_event: Any = None,
            cache: CacheChoice = True, concurrency: int | None = None,
            targets: list[str] | str | None = None, run_id: str | None = None,
            providers: Providers | None = None, store: Any = None, source: str = "python",
            record: str | Path | None = None, replay: str | Path | None = None,
            record_missing: bool = False, use_pins: bool = False, start: list[str] | str | None = None,
            only: list[str] | str | None = None, **kw_inputs: Any) -> RunResult:
        """Run the flow synchronously (also inside Jupyter's running loop); takes the keywords of :meth:`arun`."""
        return run_sync(self.arun(inputs, on_event=on_event, cache=cache, concurrency=concurrency,
                                  targets=targets, run_id=run_id, providers=providers, store=store,
                                  source=source, record=record, replay=replay, record_missing=record_missing,
                                  use_pins=use_pins, start=start, only=only, **kw_inputs))

    def start(self, inputs: dict[str, Any] | None = None, /, *, on_event: Any = None,
              cache: CacheChoice = True, concurrency: int | None = None,
              targets: list[str] | str | None = None, run_id: str | None = None,
              providers: Providers | None = None, store: Any = None, source: str = "python",
              use_pins: bool = False, start: list[str] | str | None = None,
              only: list[str] | str | None = None, **kw_inputs: Any) -> RunHandle:
        """Start a run in the background on the running loop; returns a handle to cancel or await.
        Keywords as :meth:`arun`."""
        ex = self._execution(inputs, kw_inputs, on_event=on_event, cache=cache, concurrency=concurrency,
                             targets=targets, run_id=run_id, providers=providers, store=store, source=source,
                             use_pins=use_pins, start=start, only=only)
        handle = RunHandle(ex)

        def _keep(task: Any) -> None:
            if not task.cancelled() and task.exception() is None:
                self.ran(task.result())

        handle.task.add_done_callback(_keep)
        return handle

    async def aresume(self, run: RunResult | str | None = None, *, approve: bool | None = None,
                      value: Any = UNSET, node: str | None = None, comment: str | None = None,
                      by: str | None = None, store: Any = None, on_event: Any = None,
                      providers: Providers | None = None, cache: bool | Cache = True,
                      concurrency: int | None = None, source: str | None = None, force: bool = False,
                      registry: Registry | None = None) -> RunResult:
        """Resume a paused or interrupted run of this flow (default: the last run).

        Takes the keywords of :func:`nbflow.resume` (``registry`` is this flow's own and ignored).
        """
        target = run if run is not None else self.last_result
        if target is None:
            raise FlowError("this flow has no run to resume")
        from nbflow.resuming import claimed, prepare_resume  # the run store loads on first resume

        with claimed(target, store=store, force=force):  # one resumer per run, across processes
            # Read after the claim: what an earlier resumer did (decided, finished) counts.
            r = prepare_resume(target, approve=approve, value=value, node=node, comment=comment, by=by,
                               store=store, source=source, force=force)
            ex = self._execution(dict(r.result.inputs), {}, on_event=on_event, cache=cache,
                                 concurrency=concurrency, targets=None, run_id=r.result.run_id,
                                 providers=providers, store=r.store or False, source=r.source,
                                 restore=r.result, resume=r.decisions)
            out = await ex.run()
        self.ran(out)
        return out

    def resume(self, run: RunResult | str | None = None, **kwargs: Any) -> RunResult:
        """Resume a run as :func:`nbflow.resume` does; ``flow.resume(approve=True)`` decides the last one's approval."""
        return run_sync(self.aresume(run, **kwargs))

    # -- iterating: pins and run previews ------------------------------------------------------

    @property
    def pins(self) -> dict[str, dict[str, Any]]:
        """Node id -> pinned outputs as saved in the flow file (JSON)."""
        return {k: dict(p.outputs) for k, p in self.spec.pins.items()}

    def pin(self, node_id: str, value: Any = None, *, media: str = "inline", cache: CacheChoice = True) -> None:
        """Pin a node's outputs: runs with ``use_pins=True`` (and the canvas) use them instead of
        running the node, and the pin is saved in the flow file under ``"pins"``.

        Args:
            value: output port -> value, or a bare value for a node with one output; ``None`` pins
                the node's outputs from this flow's last run.
            media: ``"inline"`` keeps media bytes in the flow file (base64); ``"cache"`` stores them
                once in the disk cache (``cache``) and keeps a reference.
        """
        from nbflow.pins import make_pin

        self.node(node_id)
        self.spec.pins[node_id] = make_pin(self, node_id, value, media=media,  # type: ignore[arg-type]
                                           cache=resolve_cache(cache, self.cache))
        self._changed("pin", node=node_id)

    def unpin(self, node_id: str) -> None:
        """Remove a node's pin (no error when it has none)."""
        if self.spec.pins.pop(node_id, None) is not None:
            self._changed("pin", node=node_id)

    def pin_states(self) -> dict[str, str]:
        """Node id -> ``"ok"`` or ``"stale"`` (its params or anything upstream changed since pinning)."""
        from nbflow.pins import pin_states

        return pin_states(self)

    @property
    def ran_keys(self) -> dict[str, str]:
        """Node id -> structural key at this flow's last run (pinning a last output checks it)."""
        from nbflow.engine.select import static_keys

        plan = self._ran_plan
        return {} if plan is None else {pn.id: k for pn, k in zip(plan.nodes, static_keys(plan), strict=True)}

    def preview(self, inputs: dict[str, Any] | None = None, /, *, cache: CacheChoice = True,
                use_pins: bool = False, targets: list[str] | str | None = None,
                start: list[str] | str | None = None, only: list[str] | str | None = None,
                **kw_inputs: Any) -> dict[str, str]:
        """What a run with these arguments would do per node, without running anything:
        ``"run"``, ``"cached"``, ``"pinned"``, ``"missing"`` (an upstream output a narrowed run needs
        but neither the cache nor a pin holds) or ``"idle"`` (not part of the run)."""
        from nbflow.pins import preview_run

        return preview_run(self, {**(inputs or {}), **kw_inputs}, cache=resolve_cache(cache, self.cache),
                           use_pins=use_pins, targets=_ids(targets, "targets"), start=_ids(start, "start"),
                           only=_ids(only, "only"))

    def edit(self, **kwargs: Any) -> Any:
        """Open the canvas editor on this flow (needs ipywidgets and ipycanvas).

        The canvas is a front end, above this layer: it is reached by name, never imported here, so
        ``import nbflow`` stays headless and the layers stay acyclic (see the README's design notes).
        """
        module, _, name = EDITOR.partition(":")
        return getattr(importlib.import_module(module), name)(self, **kwargs)

    def __repr__(self) -> str:
        return f"<Flow {self.name!r}: {len(self.spec.nodes)} nodes, {len(self.spec.edges)} edges>"


def _ids(v: list[str] | str | None, what: str = "") -> list[str] | None:
    """Node ids given as one id or a list; a clear error for anything else (e.g. a graph input of the
    same name passed as a keyword)."""
    if v is None or isinstance(v, str):
        return None if not v else [v]
    if isinstance(v, (list, tuple)) and all(isinstance(x, str) for x in v):
        return list(v) or None
    raise UsageError(f"{what}={v!r}: {what} takes node ids ('node' or ['a', 'b']); a graph input called "
                     f"{what!r} goes in the inputs dict: flow.run({{{what!r}: ...}})")


def load(path: str | Path, *, registry: Registry | None = None) -> Flow:
    """Load and validate a flow file: ``nbflow.load("flow.json").run(topic="...")``."""
    return Flow.load(path, registry=registry)
