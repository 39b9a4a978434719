"""Repetition: ``loop`` (run a body until a condition holds, bounded) and ``map`` (run over a list).

Both run a body flow as nested runs of the engine, so everything a flow can do a body can do,
including nested loops. Every iteration's outputs are kept in the node's ``iterations`` output (and
so in the run record), every item's in ``map``'s output lists, in order; nothing is dropped silently.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from nbflow.exceptions import FlowError, NodeError
from nbflow.model.io import move_run_settings
from nbflow.model.spec import FORMAT_VERSION, NodeSpec
from nbflow.model.types import element_type
from nbflow.nodes.compose import composer
from nbflow.nodes.control_conditions import Condition, ConditionError, check_all
from nbflow.nodes.control_subflow import FlowRef, FlowRefParams, run_nested
from nbflow.nodes.nodetype import NodeContext, NodeType, Port

__all__ = ["Loop", "LoopParams", "Map", "MapParams"]

#: A body input with this name receives the iteration number (1, 2, ...) instead of a port.
ITERATION_INPUT = "iteration"
_LOOP_OUTPUTS = ("iterations", "count", "converged")
_MAP_OUTPUTS = ("errors", "count")


class LoopParams(FlowRefParams):
    """Params of the ``loop`` node."""

    max_iterations: int = Field(ge=1, le=10_000, description="Required bound: stop after this many.")
    until: list[Condition] = Field(default_factory=list, description="Stop when these hold on an "
                                   "iteration's outputs, e.g. {\"path\": \"$.score\", \"op\": \">=\", "
                                   "\"value\": 0.8}. Empty: run max_iterations times.")
    until_any: bool = Field(default=False, description="Stop when any condition holds (default: all).")
    feedback: dict[str, str] | None = Field(
        default=None, description="Body output -> body input fed to the next iteration. Default: outputs "
        "feed the inputs of the same name.")
    on_max: Literal["stop", "fail"] = Field(
        default="stop", description="When max_iterations pass without 'until' holding: stop with "
        "converged=false, or fail the node.")


class Loop(NodeType[LoopParams]):
    type = "loop"
    title = "Loop until"
    category = "Control"
    description = ("Repeat a body flow, feeding each iteration the previous one's outputs, until a condition "
                   "holds or max_iterations is reached. Every iteration's outputs are kept.")
    cacheable = False  # the body's own nodes are cached by content

    def validate_node(self) -> None:
        ref = self._ref = FlowRef.from_params(self.params)
        outs = set(ref.plan.outputs)
        clash = sorted(outs & set(_LOOP_OUTPUTS))
        if clash:
            raise ValueError(f"body output {clash[0]!r} clashes with the loop's own output of that name")
        for src, dst in self._feedback().items():
            if src not in outs:
                raise ValueError(f"feedback: the body has no output {src!r}")
            if dst not in ref.plan.inputs:
                raise ValueError(f"feedback: the body has no input {dst!r}")

    @property
    def ref(self) -> FlowRef:
        if getattr(self, "_ref", None) is None:
            self._ref = FlowRef.from_params(self.params)
        return self._ref

    def _feedback(self) -> dict[str, str]:
        if self.params.feedback is not None:
            return dict(self.params.feedback)
        ref = self.ref
        return {name: name for name in ref.plan.outputs if name in ref.plan.inputs}

    def input_ports(self) -> dict[str, Port]:
        ports = self.ref.input_ports()
        ports.pop(ITERATION_INPUT, None)
        return ports

    def output_ports(self) -> dict[str, Port]:
        ports = self.ref.output_ports()
        ports["iterations"] = Port("list[any]", description="every iteration's outputs, in order")
        ports["count"] = Port("number", description="how many iterations ran")
        ports["converged"] = Port("boolean", description="whether 'until' held before the bound")
        return ports

    async def run(self, inputs: dict[str, Any], ctx: NodeContext) -> dict[str, Any]:
        p = self.params
        ref = self.ref
        feedback = self._feedback()
        state = dict(inputs)
        history: list[dict[str, Any]] = []
        converged = False
        last: dict[str, Any] = {}
        for k in range(1, p.max_iterations + 1):
            it_inputs = dict(state)
            if ITERATION_INPUT in ref.plan.inputs:
                it_inputs[ITERATION_INPUT] = k
            last = await run_nested(ctx, ref, it_inputs, label=f"iteration {k}")
            history.append(last)
            ctx.progress(k / p.max_iterations, f"iteration {k} of at most {p.max_iterations}")
            if p.until:
                try:
                    converged = check_all(p.until, last, any_of=p.until_any)
                except ConditionError as exc:
                    raise NodeError(f"iteration {k}: until: {exc}") from None
                if converged:
                    break
            for src, dst in feedback.items():
                if src in last:
                    state[dst] = last[src]
        if p.until and not converged and p.on_max == "fail":
            what = (" or " if p.until_any else " and ").join(c.describe() for c in p.until)
            raise NodeError(f"'until' ({what}) did not hold within max_iterations={p.max_iterations}")
        return {**last, "iterations": history, "count": len(history), "converged": converged}


class NodeRef(BaseModel):
    """One node type with params (and a policy), as ``map`` runs it per item."""

    model_config = ConfigDict(extra="forbid")

    type: str = Field(description="Node type, e.g. 'llm'.")
    params: dict[str, Any] = Field(default_factory=dict)
    policy: dict[str, Any] | None = Field(default=None, description="How the node runs: request_timeout, "
                                          "rpm, tpm, max_concurrency, retry, deadline ...")

    @model_validator(mode="before")
    @classmethod
    def _run_settings_to_policy(cls, data: Any) -> Any:
        # A body written before format 2 gives rpm or timeout in params; they belong to its policy.
        return move_run_settings(data)


_INPUT_NODE = {"text": "input.text", "number": "input.number", "boolean": "input.boolean",
               "image": "input.image", "file": "input.file", "audio": "input.file", "video": "input.file"}


def _flow_of_node(ref: NodeRef) -> dict[str, Any]:
    """A one-node flow: a graph input per input port, a graph output per output port."""
    impl = composer().make_node(NodeSpec(id="node", type=ref.type, params=ref.params))
    body: dict[str, Any] = {"id": "node", "type": ref.type, "params": ref.params}
    if ref.policy:
        body["policy"] = ref.policy
    nodes: list[dict[str, Any]] = [body]
    edges = []
    for name, port in impl.input_ports().items():
        nodes.append({"id": f"in_{name}", "type": _INPUT_NODE.get(port.type, "input.json"),
                      "params": {"name": name, "required": port.required}})
        edges.append({"from": f"in_{name}.value", "to": f"node.{name}"})
    for name in impl.output_ports():
        nodes.append({"id": f"out_{name}", "type": "output", "params": {"name": name}})
        edges.append({"from": f"node.{name}", "to": f"out_{name}.value"})
    return {"nbflow": FORMAT_VERSION, "name": ref.type, "nodes": nodes, "edges": edges}


class MapParams(FlowRefParams):
    """Params of the ``map`` node: the body is ``path``, ``flow`` or a single ``node``."""

    node: NodeRef | None = Field(default=None, description="Run one node type per item instead of a flow.")
    item_input: str | None = Field(default=None, description="The body input that receives each item "
                                   "(default: 'item', or the body's only required input).")
    concurrency: int = Field(default=4, ge=1, le=256, description="Most items running at once.")
    on_error: Literal["fail_fast", "collect"] = Field(
        default="fail_fast", description="fail_fast: the first failing item fails the node and stops the "
        "rest. collect: keep going; failed items are None in the output lists and listed in 'errors'.")
    max_items: int = Field(default=1000, ge=1, le=1_000_000, description="Refuse longer lists (the node "
                           "fails, saying so) rather than truncate them.")


class Map(NodeType[MapParams]):
    type = "map"
    title = "Map"
    category = "Control"
    description = ("Run a node or a flow over each item of a list, with a concurrency limit and an error "
                   "policy; outputs are lists in item order.")
    cacheable = False  # the body's own nodes are cached by content

    def validate_node(self) -> None:
        p = self.params
        given = [x for x in ("path", "flow", "node") if getattr(p, x) is not None]
        if len(given) != 1:
            raise ValueError("give exactly one of 'path', 'flow' or 'node' as the body")
        self._ref = self._load()
        self._item = self._item_input()
        self._json_inputs: frozenset[str] = frozenset()
        if self.params.node is not None:
            plan = self._ref.plan
            self._json_inputs = frozenset(k for k, pn in plan.inputs.items() if pn.spec.type == "input.json")
        clash = sorted(set(self._ref.plan.outputs) & set(_MAP_OUTPUTS))
        if clash:
            raise ValueError(f"body output {clash[0]!r} clashes with map's own output of that name")
        if "items" in self._ref.plan.inputs and self._item != "items":
            raise ValueError("the body has an input named 'items' that is not its item_input; rename it")

    def _load(self) -> FlowRef:
        p = self.params
        if p.node is not None:
            try:
                return FlowRef.from_params(FlowRefParams(flow=_flow_of_node(p.node)))
            except FlowError as exc:
                field = f" {exc.field.replace('params', 'node.params', 1)}" if exc.field else ""
                raise ValueError(f"map body {p.node.type!r}{field}: {exc.message}") from None
        return FlowRef.from_params(FlowRefParams(path=p.path, flow=p.flow))

    @property
    def ref(self) -> FlowRef:
        if getattr(self, "_ref", None) is None:
            self._ref = self._load()
        return self._ref

    def item_name(self) -> str:
        """The body input that receives each item (the others get the same value for every item)."""
        return self._item_input()

    def _item_input(self) -> str:
        ins = self.ref.input_ports()
        want = self.params.item_input
        if want is not None:
            if want not in ins:
                raise ValueError(f"item_input {want!r} is not an input of the body (inputs: "
                                 f"{', '.join(ins) or 'none'})")
            return want
        if "item" in ins:
            return "item"
        required = [k for k, port in ins.items() if port.required]
        if len(required) == 1:
            return required[0]
        if len(ins) == 1:
            return next(iter(ins))
        raise ValueError(f"name the body input that receives each item with item_input (inputs: "
                         f"{', '.join(ins) or 'none'})")

    def input_ports(self) -> dict[str, Port]:
        item = self._item_input()
        ports = {"items": Port("any", description=f"the list to map over (each item goes to {item!r})",
                               lists_only=True)}
        ports.update({k: v for k, v in self.ref.input_ports().items() if k != item})
        return ports

    def output_ports(self) -> dict[str, Port]:
        ports = {}
        for name in self.ref.plan.outputs:
            t = self.ref.output_type(name)
            # A list of T only when every item is sure to give a T; failed items are None under collect.
            typed = self.params.on_error == "fail_fast" and t != "any" and element_type(t) is None
            ports[name] = Port(f"list[{t}]" if typed else "list[any]", description=f"{name} of each item")
        ports["errors"] = Port("list[json]", description="failed items: {index, error} (collect mode)")
        ports["count"] = Port("number", description="how many items were mapped")
        return ports

    def _wrap(self, name: str, value: Any) -> Any:
        # A single-node body feeds 'any' and 'json' ports through an input.json node, which parses text
        # as JSON; encoding text first hands the port the very string the item held.
        if isinstance(value, str) and name in getattr(self, "_json_inputs", ()):
            return json.dumps(value)
        return value

    async def run(self, inputs: dict[str, Any], ctx: NodeContext) -> dict[str, Any]:
        p = self.params
        ref = self.ref
        item_name = self._item_input()
        items = inputs["items"]
        if not isinstance(items, list):
            raise NodeError(f"input 'items': expected a list, got {type(items).__name__}")
        n = len(items)
        if n > p.max_items:
            raise NodeError(f"input 'items' has {n} items, over max_items={p.max_items}; raise max_items "
                            "to map them all")
        shared = {k: self._wrap(k, v) for k, v in inputs.items() if k != "items"}
        results: list[dict[str, Any] | None] = [None] * n
        errors: list[dict[str, Any]] = []
        next_index = iter(range(n))
        done = 0

        async def worker() -> None:
            nonlocal done
            for i in next_index:  # workers share one iterator: each item is taken once
                try:
                    given = {**shared, item_name: self._wrap(item_name, items[i])}
                    results[i] = await run_nested(ctx, ref, given, label=f"item {i}")
                except NodeError as exc:
                    if p.on_error == "fail_fast":
                        raise
                    errors.append({"index": i, "error": exc.message.removeprefix(f"item {i}: ")})
                done += 1
                ctx.progress(done / n, f"{done}/{n} items")

        workers = [asyncio.ensure_future(worker()) for _ in range(min(p.concurrency, n))]
        try:
            await asyncio.gather(*workers)
        finally:
            # Fail fast: the first error leaves gather; stop the other workers before reporting it.
            for w in workers:
                w.cancel()
            await asyncio.gather(*workers, return_exceptions=True)
        errors.sort(key=lambda e: e["index"])
        out: dict[str, Any] = {name: [r.get(name) if r is not None else None for r in results]
                               for name in ref.plan.outputs}
        out["errors"] = errors
        out["count"] = n
        return out
