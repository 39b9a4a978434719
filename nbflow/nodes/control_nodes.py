"""Control nodes: ``branch`` (route to one of N outputs), ``merge`` (take whichever branch ran) and
``approval`` (pause the run for a human decision).

A branch produces only the output it chose; the engine then marks the nodes wired to the other
outputs ``skipped`` (not failed), and a ``merge`` downstream takes the one input that arrived.
An approval pauses the run (``ctx.pause``): the run ends ``paused`` with its state
saved, and resumes (``nbflow resume RUN_ID --approve``, ``nbflow.resume(...)`` or the canvas buttons)
with the decision as ``ctx.resume``. Loops, map and sub-flows live in :mod:`.control_loops` and
:mod:`.control_subflow`.
"""

from __future__ import annotations

import re
import time
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from nbflow.exceptions import NodeError
from nbflow.nodes.control_conditions import (
    Condition,
    ConditionError,
    check_all,
    normalise_label,
    resolve_path,
)
from nbflow.nodes.data_nodes import JsonPath
from nbflow.nodes.nodetype import NodeContext, NodeType, Params, Port

__all__ = ["Approval", "ApprovalParams", "Branch", "BranchParams", "Merge", "MergeParams", "Route"]

_PORT_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


class Route(BaseModel):
    """One outgoing route of a branch."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(description="The output port taken when this route matches.")
    when: list[Condition] = Field(default_factory=list, description="Conditions on the key; empty means "
                                  "'the label equals this route's name' (for a classifier's answer).")
    match: Literal["all", "any"] = Field(default="all",
                                         description="Whether all or any conditions must hold.")

    @field_validator("name")
    @classmethod
    def _port_name(cls, v: str) -> str:
        if not _PORT_NAME.match(v):
            raise ValueError(f"route name {v!r} must be a port name: letters, digits and '_'")
        return v


class BranchParams(Params):
    """Params of the ``branch`` node."""

    routes: list[Route] = Field(min_length=1, max_length=32, description="Tried in order; the first that "
                                "matches wins.")
    label_path: JsonPath = Field(default="$", description="Where the label is in the key, for routes without "
                            "conditions (e.g. $.label for a classifier's JSON).")
    default: str | None = Field(default="default", description="Output taken when no route matches; "
                                "null makes that an error.")


class Branch(NodeType[BranchParams]):
    type = "branch"
    title = "Branch"
    category = "Control"
    description = ("Route the input to one of several named outputs by conditions on values or JSON paths, "
                   "or by a classifier's label. Nodes on the routes not taken are skipped.")

    def validate_node(self) -> None:
        names = [r.name for r in self.params.routes]
        if self.params.default is not None:
            if not _PORT_NAME.match(self.params.default):
                raise ValueError(f"default {self.params.default!r} must be a port name")
            names.append(self.params.default)
        seen: set[str] = set()
        for n in names:
            if n in seen:
                raise ValueError(f"route name {n!r} is used twice")
            if n == "route":
                raise ValueError("'route' is the branch's own output; pick another route name")
            seen.add(n)

    def input_ports(self) -> dict[str, Port]:
        return {"value": Port("any", description="what is routed"),
                "key": Port("any", required=False,
                            description="what the conditions look at (default: value)")}

    def output_ports(self) -> dict[str, Port]:
        ports = {r.name: Port("any", description=f"the value, when route {r.name!r} is taken")
                 for r in self.params.routes}
        if self.params.default is not None:
            ports[self.params.default] = Port("any", description="the value, when no route matches")
        ports["route"] = Port("text", description="the name of the route taken")
        return ports

    def choose(self, key: Any) -> str | None:
        """The route for ``key``, or None when nothing matches and there is no default."""
        label: str | None = None
        for r in self.params.routes:
            if r.when:
                try:
                    hit = check_all(r.when, key, any_of=r.match == "any")
                except ConditionError as exc:
                    raise NodeError(f"route {r.name!r}: {exc}") from None
            else:
                if label is None:
                    found = resolve_path(key, self.params.label_path)
                    label = normalise_label(found) if isinstance(found, (str, int, float, bool)) else ""
                hit = label == r.name.casefold()
            if hit:
                return r.name
        return self.params.default

    async def run(self, inputs: dict[str, Any], ctx: NodeContext) -> dict[str, Any]:
        value = inputs["value"]
        key = inputs.get("key", value)
        route = self.choose(key)
        if route is None:
            names = ", ".join(r.name for r in self.params.routes)
            raise NodeError(f"no route matched (routes: {names}) and there is no default")
        ctx.log(f"route {route!r}")
        return {route: value, "route": route}


class MergeParams(Params):
    """Params of the ``merge`` node."""

    count: int = Field(default=2, ge=2, le=32, description="How many inputs (in1..inN).")


class Merge(NodeType[MergeParams]):
    type = "merge"
    title = "Merge"
    category = "Control"
    description = "Take whichever input arrived (the first, in1..inN): joins the routes of a branch."
    join = True

    def input_ports(self) -> dict[str, Port]:
        return {f"in{i}": Port("any", required=False) for i in range(1, self.params.count + 1)}

    def output_ports(self) -> dict[str, Port]:
        return {"value": Port("any", description="the first input that arrived"),
                "source": Port("text", description="which input it was (in1, in2, ...)")}

    async def run(self, inputs: dict[str, Any], ctx: NodeContext) -> dict[str, Any]:
        for i in range(1, self.params.count + 1):
            name = f"in{i}"
            if name in inputs:
                return {"value": inputs[name], "source": name}
        return {}  # no branch produced anything: neither does the merge, and its dependents skip


class ApprovalParams(Params):
    """Params of the ``approval`` node."""

    prompt: str = Field(default="Approve this?", description="What the reviewer is asked.",
                        json_schema_extra={"widget": "textarea"})
    timeout: float | None = Field(default=None, gt=0, description="Seconds to wait; then on_timeout applies.")
    on_timeout: Literal["approve", "reject"] = Field(default="reject", description="The decision taken "
                                                     "when the timeout passes.")
    editable: bool = Field(default=True, description="The reviewer may replace the value when approving.")
    reject_fails: bool = Field(default=False, description="A rejection fails the run (default: the "
                               "'rejected' output is produced and the 'approved' path is skipped).")


class Approval(NodeType[ApprovalParams]):
    type = "approval"
    title = "Human approval"
    category = "Control"
    description = ("Pause the run until someone approves or rejects the value (optionally editing it); "
                   "approved values go out of 'approved', rejected ones out of 'rejected'.")
    cacheable = False  # a decision is never reused from an earlier run
    inputs = {"value": Port("any", description="what to approve")}
    outputs = {"approved": Port("any", description="the value (as edited), when approved"),
               "rejected": Port("any", description="the value, when rejected"),
               "decision": Port("json", description="approved, comment, by, at, timeout")}

    async def run(self, inputs: dict[str, Any], ctx: NodeContext) -> dict[str, Any]:
        p = self.params
        value = inputs["value"]
        decision = ctx.resume
        if not decision or decision.get("pending"):
            since = (decision or {}).get("since") or time.time()
            data: dict[str, Any] = {"kind": "approval", "prompt": p.prompt, "value": value,
                                    "editable": p.editable, "since": since}
            if p.timeout is not None:
                data.update(deadline=since + p.timeout, default=p.on_timeout)
            ctx.pause(p.prompt, data)
        approved = bool(decision.get("approved"))
        if "value" in decision and approved:
            if not p.editable:
                raise NodeError("this approval does not allow editing the value")
            value = decision["value"]
        info = {"approved": approved, **{k: decision[k] for k in ("comment", "by", "at", "timeout")
                                         if decision.get(k) is not None}}
        if approved:
            return {"approved": value, "decision": info}
        if p.reject_fails:
            why = f": {decision['comment']}" if decision.get("comment") else ""
            raise NodeError(f"rejected{' (timed out)' if decision.get('timeout') else ''}{why}")
        return {"rejected": value, "decision": info}
