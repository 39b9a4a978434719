"""Small node types used by the engine tests: counters, sleepers, failures, branches."""

from __future__ import annotations

import asyncio
from collections import Counter
from typing import Any

from nbflow.exceptions import NodeError
from nbflow.nodes.nodetype import NodeType, Params, Port
from nbflow.nodes.registry import Registry

CALLS: Counter[str] = Counter()
STARTED: list[tuple[str, float]] = []


class EchoParams(Params):
    tag: str = ""
    sleep: float = 0.0


class Echo(NodeType[EchoParams]):
    """Passes ``x`` through (or emits ``tag`` when unwired), counting calls."""

    type = "t.echo"
    inputs = {"x": Port("any", required=False), "y": Port("any", required=False)}
    outputs = {"out": Port("any")}

    async def run(self, inputs: dict[str, Any], ctx: Any) -> dict[str, Any]:
        CALLS[self.id] += 1
        STARTED.append((self.id, asyncio.get_running_loop().time()))
        if self.params.sleep:
            await asyncio.sleep(self.params.sleep)
        parts = [str(inputs[k]) for k in ("x", "y") if k in inputs]
        return {"out": "+".join(parts) if parts else (self.params.tag or self.id)}


class FlakyParams(Params):
    fail_times: int = 1
    retryable: bool = True
    retry_after: float | None = None


class Flaky(NodeType[FlakyParams]):
    """Fails its first ``fail_times`` calls (per node id), then succeeds."""

    type = "t.flaky"
    inputs = {"x": Port("any", required=False)}
    outputs = {"out": Port("text")}
    cacheable = False

    async def run(self, inputs: dict[str, Any], ctx: Any) -> dict[str, Any]:
        CALLS[self.id] += 1
        if CALLS[self.id] <= self.params.fail_times:
            from nbflow.exceptions import ProviderError

            if self.params.retry_after is not None:
                raise ProviderError("rate limited", provider="fake", status=429, retryable=True,
                                    retry_after=self.params.retry_after)
            raise NodeError(f"failure {CALLS[self.id]}", retryable=self.params.retryable, status=503)
        return {"out": f"ok after {CALLS[self.id]}"}


class PickParams(Params):
    port: str = "a"


class Pick(NodeType[PickParams]):
    """Emits its input on only one of two outputs (a minimal branch)."""

    type = "t.pick"
    inputs = {"x": Port("any")}
    outputs = {"a": Port("any"), "b": Port("any")}

    async def run(self, inputs: dict[str, Any], ctx: Any) -> dict[str, Any]:
        CALLS[self.id] += 1
        return {self.params.port: inputs["x"]}


class BadOutput(NodeType[Params]):
    type = "t.bad"
    outputs = {"out": Port("number")}

    async def run(self, inputs: dict[str, Any], ctx: Any) -> dict[str, Any]:
        return {"out": "not a number"}


class ReadsSecret(NodeType[Params]):
    """Asks ``ctx`` for the secret ``TOKEN`` while it runs (no ``preflight``), and says whether it got one."""

    type = "t.secret"
    inputs = {"x": Port("any", required=False)}
    outputs = {"out": Port("text")}

    async def run(self, inputs: dict[str, Any], ctx: Any) -> dict[str, Any]:
        return {"out": "got it" if ctx.secret("TOKEN") else ""}


def make_registry() -> Registry:
    reg = Registry(plugins=False)
    for cls in (Echo, Flaky, Pick, BadOutput, ReadsSecret):
        reg.register(cls)
    return reg


def reset() -> None:
    CALLS.clear()
    STARTED.clear()
