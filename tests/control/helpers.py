"""Test doubles for the control-flow tests: counting and scripted providers, small node types, a registry."""

from __future__ import annotations

import asyncio
import json
import os
import re
from collections import Counter
from pathlib import Path
from typing import Any

from pydantic import Field

from nbflow.exceptions import NodeError
from nbflow.nodes.nodetype import NodeType, Params, Port
from nbflow.nodes.registry import Registry
from nbflow.providers.catalog import Providers
from nbflow.providers.offline import OfflineProvider
from nbflow.providers.provider import ChatRequest, ChatResponse, ImageRequest, ImageResponse, OnDelta, Provider


class CountingProvider(Provider):
    """The offline provider, counting calls per model (each test node uses its own model name)."""

    name = "offline"

    def __init__(self, labels: dict[str, str] | None = None) -> None:
        self.inner = OfflineProvider()
        self.calls: Counter[str] = Counter()
        self.prompts: list[str] = []
        self.labels = labels or {}

    async def chat(self, req: ChatRequest, *, on_delta: OnDelta | None = None) -> ChatResponse:
        looks = any(m.images for m in req.messages)
        self.calls[req.model + (":vision" if looks else "")] += 1
        prompt = req.messages[-1].text
        self.prompts.append(prompt)
        # A keyword classifier stands in for a real model's judgement when the test gives one.
        for pattern, label in self.labels.items():
            if req.json_schema is not None and re.search(pattern, prompt, re.I):
                return ChatResponse(text=json.dumps({"label": label}), model=req.model, provider="offline")
        return await self.inner.chat(req, on_delta=on_delta)

    async def image(self, req: ImageRequest) -> ImageResponse:
        self.calls[req.model] += 1
        return await self.inner.image(req)


def providers_with(provider: Provider) -> Providers:
    ps = Providers()
    ps.overrides["offline"] = provider
    return ps


class AddParams(Params):
    step: float = 1
    fail_at: float | None = Field(default=None, description="fail when the result equals this")
    sleep: float = 0.0


ACTIVE: Counter[str] = Counter()
PEAK: Counter[str] = Counter()
CALLS: Counter[str] = Counter()


class Add(NodeType[AddParams]):
    """``n + step``; tracks calls and how many ran at once."""

    type = "test.add"
    inputs = {"n": Port("number")}
    outputs = {"n": Port("number")}

    async def run(self, inputs: dict[str, Any], ctx: Any) -> dict[str, Any]:
        CALLS[self.id] += 1
        ACTIVE[self.id] += 1
        PEAK[self.id] = max(PEAK[self.id], ACTIVE[self.id])
        try:
            if self.params.sleep:
                await asyncio.sleep(self.params.sleep)
            n = inputs["n"] + self.params.step
            if self.params.fail_at is not None and n == self.params.fail_at:
                raise NodeError(f"refusing {n:g}")
            return {"n": n}
        finally:
            ACTIVE[self.id] -= 1


def reset() -> None:
    ACTIVE.clear()
    PEAK.clear()
    CALLS.clear()


def registry() -> Registry:
    reg = Registry(plugins=False)
    reg.register(Add)
    return reg


# -- a real plugin package for the cross-process tests -------------------------------------------------

PLUGIN_MODULE = '''
"""Counts provider calls and node runs in a file, so tests can count them across processes."""
import asyncio
import os

from nbflow.nodes.nodetype import NodeType, Params, Port
from nbflow.providers.offline import OfflineProvider
from nbflow.providers.catalog import register_provider


def _note(what):
    with open(os.environ["NBFLOW_TEST_CALLS"], "a", encoding="utf-8") as f:
        f.write(what + "\\n")


class CountingOffline(OfflineProvider):
    name = "counting"

    async def chat(self, req, *, on_delta=None):
        _note("chat:" + req.model)
        return await super().chat(req, on_delta=on_delta)


register_provider("counting", lambda config, secrets, node_id: CountingOffline())


class Step(NodeType[Params]):
    """Passes text on; sleeps a long time when its id is listed in NBFLOW_TEST_SLOW."""

    type = "test.step"
    inputs = {"text": Port("text")}
    outputs = {"text": Port("text")}
    cacheable = False

    async def run(self, inputs, ctx):
        _note("step:" + self.id)
        if self.id in os.environ.get("NBFLOW_TEST_SLOW", "").split(","):
            await asyncio.sleep(300)
        return {"text": inputs["text"] + " / " + self.id}
'''


def install_plugin(site: Path) -> Path:
    """Write the counting plugin as an installed distribution (module + dist-info) under ``site``."""
    site.mkdir(parents=True, exist_ok=True)
    (site / "nbflow_counting.py").write_text(PLUGIN_MODULE, encoding="utf-8")
    dist = site / "nbflow_counting-1.0.dist-info"
    dist.mkdir(exist_ok=True)
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: nbflow-counting\nVersion: 1.0\n")
    (dist / "entry_points.txt").write_text("[nbflow.nodes]\ncounting = nbflow_counting\n")
    return site


def read_calls(path: Path) -> Counter[str]:
    return Counter(path.read_text(encoding="utf-8").split()) if path.exists() else Counter()


def subprocess_env(site: Path, home: Path, calls: Path, **extra: str) -> dict[str, str]:
    root = Path(__file__).resolve().parents[2]
    env = {k: v for k, v in os.environ.items() if k not in ("NBFLOW_TEST_SLOW",)}
    env.update(PYTHONPATH=os.pathsep.join([str(root), str(site)]), NBFLOW_HOME=str(home),
               NBFLOW_TEST_CALLS=str(calls), **extra)
    return env
