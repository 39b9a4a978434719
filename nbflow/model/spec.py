"""The flow file format, version 3, as pydantic models.

A flow file looks like this (keys in this order; 2-space indent; trailing newline)::

    {
      "nbflow": 3,
      "name": "product-copy",
      "description": "...",
      "defaults": {"deadline": 120, "retry": {"attempts": 3}},
      "nodes": [
        {"id": "product", "type": "input.text", "params": {"default": "a teapot"}},
        {"id": "copy", "type": "llm", "params": {"model": "offline"}, "policy": {"request_timeout": 30, "rpm": 60}}
      ],
      "edges": [{"from": "product.value", "to": "copy.prompt"}],
      "pins": {"copy": {"key": "5f0c...", "outputs": {"text": "pinned copy"}}},
      "layout": {
        "nodes": {"product": {"x": 40, "y": 80}},
        "frames": [{"id": "frame_1", "title": "Inputs", "x": 20, "y": 40, "w": 240, "h": 160, "color": "#fff3bf"}],
        "wires": [{"from": "product.value", "to": "copy.prompt", "via": [{"x": 300, "y": 200}]}]
      }
    }

Semantics (``nodes``, ``edges``, ``defaults``) are kept apart from ``layout``, so moving a node on
the canvas changes only ``layout``; so do the canvas' frames (titled rectangles behind nodes, with
an optional comment) and reroute points (the points a wire is drawn through). The engine never
reads ``layout``. Ports are not stored: they follow from each node's type and params.

Params say what a node computes (and only they enter cache keys); ``policy`` says how it runs: its
deadline, per-attempt and per-request timeouts, retries, rate limits, fallbacks and cache. Version 1
kept request timeouts and rate limits in params; version 2 had no frames or reroute points;
:mod:`nbflow.model.io` migrates both.
"""

from __future__ import annotations

import math
import re
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from nbflow.exceptions import FlowError
from nbflow.model.refs import ID_RE as _ID_RE
from nbflow.model.refs import parse_ref

__all__ = [
    "FORMAT_VERSION",
    "BudgetSpec",
    "EdgeSpec",
    "FlowSpec",
    "FrameSpec",
    "LayoutSpec",
    "NodeSpec",
    "NotifySpec",
    "PinSpec",
    "PolicySpec",
    "Position",
    "RetrySpec",
    "WireLayout",
    "check_node_id",
    "new_edge",
    "new_flow",
    "new_node",
    "new_position",
    "parse_ref",
]

#: The flow file format version this nbflow writes. Older versions are migrated on load.
FORMAT_VERSION = 3

_COLOR_RE = re.compile(r"^#[0-9a-fA-F]{6}$")


class _Strict(BaseModel):
    # defer_build: schemas are built on first use, not when `import nbflow` defines the classes
    model_config = ConfigDict(extra="forbid", frozen=False, populate_by_name=True, defer_build=True)


class RetrySpec(_Strict):
    """How a node retries retryable errors (rate limits, 5xx, timeouts, connection errors)."""

    attempts: int = Field(default=3, ge=1, le=100, description="Total attempts, the first included.")
    backoff: float = Field(default=1.0, ge=0, description="Seconds before the first retry.")
    multiplier: float = Field(default=2.0, ge=1, description="Backoff growth per attempt.")
    max_backoff: float = Field(default=60.0, ge=0, description="Upper bound of one wait.")
    jitter: bool = Field(default=True, description="Full jitter: wait a random time up to the backoff.")


class PolicySpec(_Strict):
    """How a node runs (never what it computes): per-node overrides of the flow's ``defaults``; every
    field left out takes the graph default."""

    deadline: float | None = Field(default=None, gt=0, description="Seconds for the whole node: every "
                                   "attempt and every wait between attempts. A provider asking to retry "
                                   "later than the deadline fails the node at once.")
    timeout: float | None = Field(default=None, gt=0, description="Seconds per attempt.")
    request_timeout: float | None = Field(default=None, gt=0, description="Seconds to wait for one HTTP "
                                          "response (default: the node type's; LLM providers 600, http 60).")
    retry: RetrySpec | None = None
    rpm: float | None = Field(default=None, gt=0, description="Requests per minute for this node's provider "
                              "and key (or host), shared by every run in the process.")
    tpm: float | None = Field(default=None, gt=0, description="Tokens per minute for this provider and key.")
    max_concurrency: int | None = Field(default=None, ge=1, description="Most calls in flight at once for "
                                        "this provider and key (or host).")
    cache: bool | None = Field(default=None, description="Reuse outputs for identical inputs and params.")
    fallback: list[str] | None = Field(
        default=None, description="Node ids tried in order, with the same inputs, when this node fails.")
    join: bool | None = Field(
        default=None, description="Run this node even when some of its inputs come from a skipped, rejected "
        "or failed branch (those inputs are then absent); without it such a node is skipped. Per node only.")


class BudgetSpec(_Strict):
    """Cost caps in USD, checked before each provider call (by the estimate) and after it (by the
    recorded cost); spend is kept in the run store, so caps hold across processes and replicas."""

    run: float | None = Field(default=None, gt=0, description="Most one run may spend, resumes included.")
    flow_day: float | None = Field(default=None, gt=0, description="Most the runs of this flow may spend per "
                                   "UTC day, together.")
    key_day: float | None = Field(default=None, gt=0, description="Most the runs one server caller key starts "
                                  "may spend per UTC day (runs started by nbflow serve).")
    on_exceed: Literal["stop", "pause"] | None = Field(default=None, description="What a run does instead of a "
                                                       "call that would pass a cap: stop (the node fails; "
                                                       "the default) or pause for approval.")


class NotifySpec(_Strict):
    """Who hears of this flow's approvals. How (the links, the SMTP server, retries) is the server's
    ``notices`` configuration; a flow only routes or silences its own notices."""

    enabled: bool = Field(default=True, description="false: no approval notices for this flow.")
    webhook_env: str | None = Field(default=None, description="Secret holding this flow's own webhook URL "
                                    "(instead of the server's).")
    email_to: list[str] | None = Field(default=None, min_length=1, description="This flow's reviewers "
                                       "(instead of the server's email recipients).")


class DefaultsSpec(PolicySpec):
    """Graph-level policy defaults plus run-wide settings."""

    concurrency: int | None = Field(default=None, ge=1, description="Most nodes running at once.")
    budget: BudgetSpec | None = None
    notify: NotifySpec | None = None

    @field_validator("join")
    @classmethod
    def _no_graph_join(cls, v: bool | None) -> bool | None:
        if v is not None:
            raise ValueError("join is a per-node policy (set it on the node that joins branches)")
        return v


class NodeSpec(_Strict):
    """One node: its id, type, params and policy overrides."""

    id: str = Field(description="Unique within the flow; letters, digits, '_' and '-'.")
    type: str = Field(description="Registered node type, e.g. 'llm' or 'input.text'.")
    title: str | None = Field(default=None, description="Label shown on the canvas.")
    params: dict[str, Any] = Field(default_factory=dict, description="Named params of the node type.")
    policy: PolicySpec | None = None

    @field_validator("id")
    @classmethod
    def _check_id(cls, v: str) -> str:
        return _node_id(v)


def _node_id(v: str) -> str:
    if not _ID_RE.match(v):
        raise ValueError(f"node id {v!r} must start with a letter or '_' and use letters, digits, '_', '-'")
    return v


class EdgeSpec(_Strict):
    """A wire from an output port to an input port, both as ``"node.port"``."""

    from_: str = Field(alias="from", description="Source output, 'node.port'.")
    to: str = Field(description="Target input, 'node.port'.")

    @field_validator("from_", "to")
    @classmethod
    def _check_ref(cls, v: str) -> str:
        parse_ref(v)
        return v


class Position(_Strict):
    """Where a node sits on the canvas."""

    x: float = Field(default=0.0, allow_inf_nan=False)
    y: float = Field(default=0.0, allow_inf_nan=False)


class FrameSpec(_Strict):
    """A titled, coloured rectangle drawn behind nodes on the canvas: a group, or with ``text`` a comment.

    Layout only: a frame names no nodes. The canvas moves the nodes whose centre lies inside a frame
    along with it, as ComfyUI's groups do.
    """

    id: str = Field(description="Unique among the flow's frames; letters, digits, '_' and '-'.")
    title: str = Field(default="", max_length=200, description="Shown in the frame's title bar.")
    text: str = Field(default="", max_length=20_000, description="Free text shown in the frame (a comment).")
    x: float = Field(allow_inf_nan=False)
    y: float = Field(allow_inf_nan=False)
    w: float = Field(gt=0, allow_inf_nan=False)
    h: float = Field(gt=0, allow_inf_nan=False)
    color: str = Field(default="#dbe4ff", description="Fill colour, '#rrggbb'.")

    @field_validator("id")
    @classmethod
    def _check_id(cls, v: str) -> str:
        if not _ID_RE.match(v):
            raise ValueError(f"frame id {v!r} must start with a letter or '_' and use letters, digits, '_', '-'")
        return v

    @field_validator("color")
    @classmethod
    def _check_color(cls, v: str) -> str:
        if not _COLOR_RE.match(v):
            raise ValueError(f"frame color {v!r} must be '#rrggbb'")
        return v.lower()


class WireLayout(_Strict):
    """The reroute points a wire is drawn through, in order from its output to its input."""

    from_: str = Field(alias="from", description="The wire's output, 'node.port'.")
    to: str = Field(description="The wire's input, 'node.port'.")
    via: list[Position] = Field(min_length=1, max_length=100)

    @field_validator("from_", "to")
    @classmethod
    def _check_ref(cls, v: str) -> str:
        parse_ref(v)
        return v


class LayoutSpec(_Strict):
    """Canvas layout only; never affects what a run does."""

    nodes: dict[str, Position] = Field(default_factory=dict)
    frames: list[FrameSpec] = Field(default_factory=list, description="Drawn behind the nodes, later on top.")
    wires: list[WireLayout] = Field(default_factory=list, description="Reroute points of wires.")

    @field_validator("frames")
    @classmethod
    def _unique_frames(cls, v: list[FrameSpec]) -> list[FrameSpec]:
        seen: set[str] = set()
        for f in v:
            if f.id in seen:
                raise ValueError(f"duplicate frame id {f.id!r}")
            seen.add(f.id)
        return v


class PinSpec(_Strict):
    """A node's pinned outputs: used instead of running the node when a run asks for pins.

    Media values are inline (``data_base64``) or a reference to a blob in the cache (``blob``).
    """

    key: str = Field(description="The node's key (type, params, upstream) when pinned; a different key "
                                 "now means the pin is stale.")
    outputs: dict[str, Any] = Field(description="Output port -> pinned value (JSON; media as $media objects).")
    output_key: str | None = Field(default=None, description="The cache key of the run output that was "
                                   "pinned (absent for a value given by hand); its dependents keep their keys.")


class FlowSpec(_Strict):
    """A whole flow file."""

    nbflow: int = Field(default=FORMAT_VERSION, description="Flow file format version.")
    name: str = Field(default="flow", description="Flow name, used by the server and run history.")
    description: str = ""
    defaults: DefaultsSpec = Field(default_factory=DefaultsSpec)
    nodes: list[NodeSpec] = Field(default_factory=list)
    edges: list[EdgeSpec] = Field(default_factory=list)
    pins: dict[str, PinSpec] = Field(default_factory=dict, description="Node id -> pinned outputs.")
    layout: LayoutSpec = Field(default_factory=LayoutSpec)


# -- specs of a flow built in code ----------------------------------------------------------------
# ``Flow``'s editing methods check each edit themselves (ids and refs here, params by the node type,
# ports, types and cycles by the wiring index), so they make their spec objects with these instead of
# the models' validators: building those validators costs more than a small flow's whole first run, and
# a flow built in code never needs them. A flow file is still validated by the models (``model.io``).
# Each check here makes the same decision as the model's validator, as a FlowError.


def new_flow(name: str, description: str = "") -> FlowSpec:
    """An empty flow: what ``FlowSpec(name=name, description=description)`` gives."""
    for what, v in (("name", name), ("description", description)):
        if not isinstance(v, str):
            raise FlowError(f"flow {what} must be a string, got {v!r}")
    return FlowSpec.model_construct(
        {"name", "description"}, nbflow=FORMAT_VERSION, name=name, description=description,
        defaults=DefaultsSpec.model_construct(), nodes=[], edges=[], pins={},
        layout=LayoutSpec.model_construct(nodes={}, frames=[], wires=[]))


def check_node_id(node_id: str) -> str:
    """``node_id`` if it is a valid node id (as ``NodeSpec`` checks it), else a FlowError saying why."""
    if not isinstance(node_id, str):
        raise FlowError(f"node id must be a string, got {node_id!r}")
    try:
        return _node_id(node_id)
    except ValueError as exc:
        raise FlowError(str(exc)) from None


def new_node(node_id: str, type: str, *, title: str | None, params: dict[str, Any],
             policy: PolicySpec | None) -> NodeSpec:
    """A node spec, as ``NodeSpec(id=..., type=..., ...)`` validates it (params are the node type's to check)."""
    check_node_id(node_id)
    if not isinstance(type, str):
        raise FlowError(f"node type must be a string, got {type!r}", node=node_id)
    if title is not None and not isinstance(title, str):
        raise FlowError(f"title must be a string, got {title!r}", node=node_id, field="title")
    if policy is not None and not isinstance(policy, PolicySpec):
        raise FlowError("policy must be a dict or a PolicySpec", node=node_id, field="policy")
    return NodeSpec.model_construct(id=node_id, type=type, title=title, params=params, policy=policy)


def new_edge(src: str, dst: str) -> EdgeSpec:
    """An edge spec, as ``EdgeSpec.model_validate({"from": src, "to": dst})`` validates it."""
    for v in (src, dst):
        if not isinstance(v, str):
            raise FlowError(f"{v!r} is not of the form 'node.port'")
        try:
            parse_ref(v)
        except ValueError as exc:
            raise FlowError(str(exc)) from None
    return EdgeSpec.model_construct(from_=src, to=dst)


def new_position(x: float, y: float, *, node: str | None = None) -> Position:
    """Where a node sits, as ``Position(x=x, y=y)`` validates it: finite numbers."""
    try:
        fx, fy = float(x), float(y)
    except (TypeError, ValueError):
        fx = fy = math.nan
    if not (math.isfinite(fx) and math.isfinite(fy)):
        raise FlowError(f"position ({x}, {y}) must be finite numbers", node=node)
    return Position.model_construct(x=fx, y=fy)
