"""``nbflow run --estimate``: what a run would cost, with no provider call made.

The flow runs as usual except that every provider is replaced by an :class:`EstimatingProvider`,
which answers at once without a request: its chat answer is a placeholder as long as ``max_tokens``
allows (so the prompts of downstream nodes grow as they would), JSON answers follow the schema, and
media are tiny placeholders. Usage is counted from the real prompt sizes, so templates, inputs and
upstream answers are all reflected; output tokens are the ``max_tokens`` ceiling (or
:data:`DEFAULT_OUTPUT_TOKENS` when a node sets none). Costs come from the price table.
"""

from __future__ import annotations

import json
from typing import Any

from nbflow.model.values import Media
from nbflow.providers.catalog import Providers
from nbflow.providers.generic import HttpReply
from nbflow.providers.offline import _from_schema, png_bytes
from nbflow.providers.pricing import price_for
from nbflow.providers.provider import (
    ChatRequest,
    ChatResponse,
    ImageRequest,
    ImageResponse,
    OnDelta,
    OnProgress,
    Provider,
    SpeechRequest,
    SpeechResponse,
    Usage,
    VideoRequest,
    VideoResponse,
)
from nbflow.providers.secrets import Secrets
from nbflow.providers.tokens import count_tokens

__all__ = ["DEFAULT_OUTPUT_TOKENS", "EstimatingProvider", "aestimate_flow", "estimate_flow", "estimating_providers",
           "print_estimate"]

#: Output tokens assumed for a chat node without ``max_tokens``.
DEFAULT_OUTPUT_TOKENS = 1024
_PLACEHOLDER_WORD = "estimate "


class EstimatingProvider(Provider):
    """Stands in for provider ``name`` during an estimate: no network, usage from request sizes."""

    def __init__(self, name: str) -> None:
        self.name = name

    def __repr__(self) -> str:
        return f"<EstimatingProvider {self.name}>"

    async def chat(self, req: ChatRequest, *, on_delta: OnDelta | None = None) -> ChatResponse:
        out_tokens = req.max_tokens or DEFAULT_OUTPUT_TOKENS
        if req.json_schema is not None:
            text = json.dumps(_from_schema(req.json_schema, b"estimate".ljust(32, b"\0"), ["estimate"]))
        else:
            text = (_PLACEHOLDER_WORD * (out_tokens * 4 // len(_PLACEHOLDER_WORD) + 1))[: out_tokens * 4]
        prompt = (req.system or "") + "".join(m.text for m in req.messages)
        images = sum(len(m.images) for m in req.messages)
        usage = Usage(input_tokens=count_tokens(prompt) + 1600 * images, output_tokens=out_tokens)
        return ChatResponse(text=text, model=req.model, provider=self.name, usage=usage, finish_reason="stop")

    async def image(self, req: ImageRequest) -> ImageResponse:
        img = Media(mime="image/png", data=png_bytes(1, 1, [b"\0\0\0"]), meta={"estimate": True})
        return ImageResponse(images=[img] * req.n, model=req.model, provider=self.name,
                             usage=Usage(images=req.n, input_tokens=count_tokens(req.prompt)))

    async def speech(self, req: SpeechRequest) -> SpeechResponse:
        audio = Media(mime="audio/mpeg", data=b"ID3", meta={"estimate": True})
        # About 15 characters a second of speech.
        return SpeechResponse(audio=audio, model=req.model, provider=self.name,
                              usage=Usage(characters=len(req.text), audio_seconds=len(req.text) / 15))

    async def video(self, req: VideoRequest, *, on_progress: OnProgress | None = None) -> VideoResponse:
        video = Media(mime="video/mp4", data=b"\0\0\0\x18ftypisom", meta={"estimate": True})
        return VideoResponse(video=video, model=req.model, provider=self.name,
                             usage=Usage(video_seconds=float(req.duration)))

    async def request(self, method: str, url: str, **kw: Any) -> HttpReply:
        """The ``http`` node's call: not made; an empty JSON object stands in for the answer."""
        return HttpReply(200, {}, "{}")


class _AnySecret:
    """An estimate makes no call, so it needs no key: every secret reads as a placeholder."""

    def get(self, name: str) -> str:
        return "none"  # under 6 characters: not remembered as a secret to scrub


def estimating_providers(base: Providers) -> Providers:
    """A Providers whose every provider is an :class:`EstimatingProvider` (secrets are not needed)."""
    est = Providers(Secrets(_AnySecret()))
    est.overrides = {name: EstimatingProvider(name) for name in base.known()}
    return est


def _dry(flow: Any) -> Any:
    # A copy, so the dry run is not taken for the flow's last run (a canvas would show it, and
    # pinning would pin its made-up outputs).
    dry = flow.copy()
    dry.source = flow.source
    return dry


def estimate_flow(flow: Any, inputs: dict[str, Any] | None = None, *,
                  plan: dict[str, str] | None = None) -> dict[str, Any]:
    """Dry-run ``flow`` with estimating providers; returns per-node and total usage and cost.

    ``plan`` (from ``flow.preview(...)``: node id -> run/cached/pinned/idle) leaves out the nodes a
    real run would not call: their outputs come from the cache or a pin, or they are not part of it.

    Returns:
        ``{"estimate": True, "status", "nodes": {id: {"usage": [...], "cost"}}, "usage", "cost",
        "unpriced": ["provider/model", ...], "saved": {"cached": [...], "pinned": [...], "cost"}}``.
    """
    # store=False: a dry run is not a run to keep in the history.
    result = _dry(flow).run(inputs or {}, cache=False, providers=estimating_providers(flow.providers),
                            store=False)
    return _summary(result, plan)


async def aestimate_flow(flow: Any, inputs: dict[str, Any] | None = None, *,
                         plan: dict[str, str] | None = None) -> dict[str, Any]:
    """:func:`estimate_flow` as a coroutine (the canvas runs it as a task on the kernel's loop)."""
    result = await _dry(flow).arun(inputs or {}, cache=False, providers=estimating_providers(flow.providers),
                                   store=False)
    return _summary(result, plan)


def _summary(result: Any, plan: dict[str, str] | None) -> dict[str, Any]:
    nodes: dict[str, Any] = {}
    unpriced: set[str] = set()
    saved: dict[str, Any] = {"cached": [], "pinned": [], "cost": 0.0}
    usage: dict[str, int | float] = {}
    for nid, rec in result.nodes.items():
        if not rec.usage:
            continue
        state = (plan or {}).get(nid, "run")
        if state in ("cached", "pinned"):
            saved[state].append(nid)
            saved["cost"] = round(saved["cost"] + rec.cost, 8)
            continue
        if state != "run":
            continue
        for u in rec.usage:
            for k, v in u.items():
                if isinstance(v, (int, float)) and not isinstance(v, bool) and k != "cost":
                    usage[k] = usage.get(k, 0) + v
        nodes[nid] = {"type": rec.type, "usage": rec.usage, "cost": round(rec.cost, 8)}
        for u in rec.usage:
            if price_for(u["provider"], u["model"]) is None:
                unpriced.add(f"{u['provider']}/{u['model']}")
    cost = round(sum(n["cost"] for n in nodes.values()), 8)
    out: dict[str, Any] = {"estimate": True, "status": result.status, "nodes": nodes,
                           "usage": usage, "cost": cost, "unpriced": sorted(unpriced)}
    if plan is not None:
        out["saved"] = saved
    if result.error:
        out["error"] = result.error
    return out


def print_estimate(est: dict[str, Any], *, as_json: bool, stream: Any = None) -> None:
    """Print an estimate as a table (or one JSON object) on ``stream`` (stdout)."""
    import sys

    out = stream or sys.stdout
    if as_json:
        out.write(json.dumps(est, indent=2) + "\n")
        return
    rows = [("node", "provider/model", "input tok", "output tok", "other", "cost $")]
    for nid, n in est["nodes"].items():
        for u in n["usage"]:
            other = ", ".join(f"{k}={v:g}" for k, v in u.items()
                              if k not in ("provider", "model", "input_tokens", "output_tokens", "cost"))
            rows.append((nid, f"{u['provider']}/{u['model']}", f"{u.get('input_tokens', 0):,}",
                         f"{u.get('output_tokens', 0):,}", other, f"{u.get('cost', 0):.6f}"))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    for r in rows:
        out.write("  ".join(c.ljust(w) if i < 2 or i == 4 else c.rjust(w)
                            for i, (c, w) in enumerate(zip(r, widths, strict=True))).rstrip() + "\n")
    out.write(f"estimated total: ${est['cost']:.6f} (output at max_tokens, or {DEFAULT_OUTPUT_TOKENS} tokens "
              "where unset; no calls were made)\n")
    saved = est.get("saved")
    if saved and (saved["cached"] or saved["pinned"]):
        parts = [f"{len(saved[k])} {k} ({', '.join(saved[k])})" for k in ("cached", "pinned") if saved[k]]
        out.write(f"not called: {'; '.join(parts)}, saving ${saved['cost']:.6f}\n")
    if est["unpriced"]:
        out.write(f"no price known for: {', '.join(est['unpriced'])} (counted as $0)\n")
    if est.get("error"):
        out.write(f"note: the dry run stopped early: {est['error']}\n")
