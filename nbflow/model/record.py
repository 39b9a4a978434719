"""Run records: what happened to each node and to the whole run. Plain data, JSON in and out."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from nbflow.exceptions import NodeError
from nbflow.model.values import Media

__all__ = [
    "NodeRecord",
    "NodeStatus",
    "RunResult",
    "RunStatus",
    "result_json",
    "save_media",
    "value_from_json",
    "value_to_json",
]

NodeStatus = Literal["pending", "queued", "running", "done", "cached", "pinned", "skipped", "failed", "paused",
                     "cancelled"]
RunStatus = Literal["running", "succeeded", "failed", "cancelled", "paused", "interrupted"]


def value_to_json(value: Any, *, inline_media: bool = True) -> Any:
    """A JSON-able form of a port value; media become ``{"$media": ...}`` objects."""
    if isinstance(value, Media):
        return value.to_json(inline=inline_media)
    if isinstance(value, list):
        return [value_to_json(v, inline_media=inline_media) for v in value]
    if isinstance(value, dict):
        return {k: value_to_json(v, inline_media=inline_media) for k, v in value.items()}
    return value


def value_from_json(obj: Any) -> Any:
    """Inverse of :func:`value_to_json`."""
    if isinstance(obj, dict):
        if "$media" in obj and "mime" in obj:
            return Media.from_json(obj)
        return {k: value_from_json(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [value_from_json(v) for v in obj]
    return obj


@dataclass(slots=True)
class NodeRecord:
    """What happened to one node in one run.

    Attributes:
        status: pending, queued, running, done, cached, skipped, failed, paused or cancelled.
        attempts: attempts made, across retries (and fallbacks).
        outputs: the node's output values, when it produced any.
        error: ``{"message", "type", "attempts", "status"}`` when it failed.
        usage: one entry per provider call (provider, model, tokens, cost).
        fallback: the fallback node whose result was used, if any.
        reason: why it was skipped or paused.
        key: its cache key.
        pause: what a paused node asked for (``Pause.data``: e.g. the value to approve).
    """

    id: str
    type: str
    status: NodeStatus = "pending"
    attempts: int = 0
    started_at: float | None = None
    ended_at: float | None = None
    outputs: dict[str, Any] | None = None
    error: dict[str, Any] | None = None
    usage: list[dict[str, Any]] = field(default_factory=list)
    cost: float = 0.0
    fallback: str | None = None
    reason: str | None = None
    key: str | None = None
    history: list[dict[str, Any]] = field(default_factory=list)
    pause: dict[str, Any] | None = None

    @property
    def duration(self) -> float | None:
        if self.started_at is None or self.ended_at is None:
            return None
        return self.ended_at - self.started_at

    def to_json(self, *, inline_media: bool = True) -> dict[str, Any]:
        out: dict[str, Any] = {"id": self.id, "type": self.type, "status": self.status,
                               "attempts": self.attempts}
        if self.started_at is not None:
            out["started_at"] = round(self.started_at, 6)
        if self.ended_at is not None:
            out["ended_at"] = round(self.ended_at, 6)
            if self.started_at is not None:
                out["duration"] = round(out["ended_at"] - out["started_at"], 6)
        if self.outputs is not None:
            out["outputs"] = value_to_json(self.outputs, inline_media=inline_media)
        for name in ("error", "fallback", "reason", "key"):
            v = getattr(self, name)
            if v is not None:
                out[name] = v
        if self.usage:
            out["usage"] = self.usage
        if self.cost:
            out["cost"] = round(self.cost, 8)
        if self.history:
            out["history"] = self.history
        if self.pause is not None:
            out["pause"] = value_to_json(self.pause, inline_media=inline_media)
        return out

    @classmethod
    def from_json(cls, obj: dict[str, Any]) -> NodeRecord:
        rec = cls(id=obj["id"], type=obj["type"], status=obj["status"], attempts=obj.get("attempts", 0))
        rec.started_at = obj.get("started_at")
        rec.ended_at = obj.get("ended_at")
        rec.outputs = value_from_json(obj["outputs"]) if "outputs" in obj else None
        rec.error = obj.get("error")
        rec.usage = list(obj.get("usage", []))
        rec.cost = float(obj.get("cost", 0.0))
        rec.fallback = obj.get("fallback")
        rec.reason = obj.get("reason")
        rec.key = obj.get("key")
        rec.history = list(obj.get("history", []))
        rec.pause = value_from_json(obj["pause"]) if "pause" in obj else None
        return rec


@dataclass(slots=True)
class RunResult:
    """The record of one run: its status, graph outputs and every node's record.

    Attributes:
        status: succeeded, failed, cancelled or paused (or running, while it runs; interrupted when
            its process died while it ran, as the run store records it).
        outputs: graph output name -> value.
        nodes: node id -> :class:`NodeRecord`.
        error: one line saying why the run failed, when it did.
    """

    run_id: str
    flow: str
    status: RunStatus = "running"
    inputs: dict[str, Any] = field(default_factory=dict)
    outputs: dict[str, Any] = field(default_factory=dict)
    nodes: dict[str, NodeRecord] = field(default_factory=dict)
    started_at: float = field(default_factory=time.time)
    ended_at: float | None = None
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.status == "succeeded"

    @property
    def duration(self) -> float | None:
        return None if self.ended_at is None else self.ended_at - self.started_at

    @property
    def usage(self) -> dict[str, int | float]:
        """Token and media counts summed over every provider call."""
        total: dict[str, int | float] = {}
        for rec in self.nodes.values():
            for u in rec.usage:
                for k, v in u.items():
                    if isinstance(v, (int, float)) and not isinstance(v, bool) and k != "cost":
                        total[k] = total.get(k, 0) + v
        return total

    @property
    def cost(self) -> float:
        """Cost in USD summed over nodes."""
        return round(sum(r.cost for r in self.nodes.values()), 8)

    def raise_for_status(self) -> RunResult:
        """Raise NodeError when the run did not succeed; return self otherwise."""
        if self.status != "succeeded":
            raise NodeError(self.error or f"run {self.status}")
        return self

    def to_json(self, *, inline_media: bool = True) -> dict[str, Any]:
        out: dict[str, Any] = {
            "run_id": self.run_id, "flow": self.flow, "status": self.status,
            "inputs": value_to_json(self.inputs, inline_media=inline_media),
            "outputs": value_to_json(self.outputs, inline_media=inline_media),
            "usage": self.usage, "cost": self.cost,
            "started_at": round(self.started_at, 6),
        }
        if self.ended_at is not None:
            out["ended_at"] = round(self.ended_at, 6)
            out["duration"] = round(out["ended_at"] - out["started_at"], 6)
        if self.error is not None:
            out["error"] = self.error
        out["nodes"] = {k: r.to_json(inline_media=inline_media) for k, r in self.nodes.items()}
        return out

    @classmethod
    def from_json(cls, obj: dict[str, Any]) -> RunResult:
        res = cls(run_id=obj["run_id"], flow=obj["flow"], status=obj["status"],
                  inputs=value_from_json(obj.get("inputs", {})), outputs=value_from_json(obj.get("outputs", {})),
                  started_at=obj.get("started_at", 0.0), ended_at=obj.get("ended_at"), error=obj.get("error"))
        res.nodes = {k: NodeRecord.from_json(v) for k, v in obj.get("nodes", {}).items()}
        return res

    def __repr__(self) -> str:
        return (f"<RunResult {self.run_id} {self.status} outputs={sorted(self.outputs)} "
                f"nodes={len(self.nodes)} cost=${self.cost:.4f}>")


def save_media(value: Any, out_dir: Path, stem: str) -> Any:
    """Write media in ``value`` into ``out_dir`` as ``stem.ext`` files; JSON with each file's ``path``."""
    if isinstance(value, Media):
        if value.data is None:
            return value.to_json(inline=False)
        ext = {"image/png": ".png", "image/jpeg": ".jpg", "image/webp": ".webp", "image/gif": ".gif",
               "audio/wav": ".wav", "audio/mpeg": ".mp3", "video/mp4": ".mp4"}.get(value.mime, ".bin")
        path = out_dir / f"{stem}{ext}"
        path.write_bytes(value.data)
        return {**value.to_json(inline=False), "path": str(path)}
    if isinstance(value, list):
        return [save_media(v, out_dir, f"{stem}_{i}") for i, v in enumerate(value)]
    return value_to_json(value)


def result_json(result: RunResult, out_dir: Path | None = None) -> dict[str, Any]:
    """The ``--json`` object: status, run_id, outputs, usage, cost, nodes (without their outputs)."""
    if out_dir is not None:
        outputs = {k: save_media(v, out_dir, k) for k, v in result.outputs.items()}
    else:
        outputs = value_to_json(result.outputs)
    nodes = {}
    for nid, rec in result.nodes.items():
        d = rec.to_json(inline_media=False)
        d.pop("outputs", None)
        d.pop("key", None)
        nodes[nid] = d
    out: dict[str, Any] = {"status": result.status, "run_id": result.run_id, "flow": result.flow,
                           "outputs": outputs, "usage": result.usage, "cost": result.cost,
                           "duration": round(result.duration or 0.0, 6), "nodes": nodes}
    if result.error:
        out["error"] = result.error
    return out
