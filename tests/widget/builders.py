"""Flows and node types shared by the canvas tests."""

from __future__ import annotations

import asyncio
from typing import Any

from nbflow import Flow, NodeError, NodeType, Port
from nbflow.nodes.registry import Registry

__all__ = ["Fail", "Slow", "plugin_registry", "product_flow"]


class Slow(NodeType):
    """Waits (so a test can stop a run in the middle), then passes its text on."""

    type = "test.slow"
    title = "Slow"
    category = "Test"
    inputs = {"text": Port("text")}
    outputs = {"text": Port("text")}
    cacheable = False

    async def run(self, inputs: dict[str, Any], ctx: Any) -> dict[str, Any]:
        await asyncio.sleep(30)
        return {"text": inputs["text"]}


class Fail(NodeType):
    """Always fails like a provider answering HTTP 503."""

    type = "test.fail"
    title = "Fail"
    category = "Test"
    inputs = {"text": Port("text")}
    outputs = {"text": Port("text")}

    async def run(self, inputs: dict[str, Any], ctx: Any) -> dict[str, Any]:
        raise NodeError("the service is down", status=503)


def plugin_registry() -> Registry:
    """Built-ins plus the test node types (as a plugin would add them)."""
    reg = Registry(plugins=False)
    reg.register(Slow, origin="plugin test")
    reg.register(Fail, origin="plugin test")
    return reg



def product_flow(registry: Registry | None = None) -> Flow:
    """The seed's product workflow: product description -> LLM copy, and -> image."""
    f = Flow("product", registry=registry)
    f.add("input.text", id="product", default="a ceramic teapot", x=20, y=40)
    f.add("template", id="prompt", template="Write short product copy for {{product}}.", x=270, y=40)
    f.add("llm", id="copy", x=520, y=40)
    f.add("output", id="copy_out", x=770, y=40)
    f.add("template", id="image_prompt", template="A studio photo of {{product}}", x=270, y=230)
    f.add("image", id="picture", size="64x64", x=520, y=230)
    f.add("output", id="image_out", x=770, y=230)
    f.connect("product.value", "prompt.product")
    f.connect("prompt.text", "copy.prompt")
    f.connect("copy.text", "copy_out.value")
    f.connect("product.value", "image_prompt.product")
    f.connect("image_prompt.text", "picture.prompt")
    f.connect("picture.image", "image_out.value")
    return f
