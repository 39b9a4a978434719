"""AI nodes: ``llm`` (text and structured JSON) and ``image`` (text to image).

They talk to providers through :class:`nbflow.providers.base.Provider`; the provider is chosen by the
``provider`` param. ``offline`` is built in and needs no key.
"""

from __future__ import annotations

import json
from typing import Any

from pydantic import Field

from nbflow.exceptions import NodeError
from nbflow.nodes.base import NodeContext, NodeType, Params, Port
from nbflow.nodes.data_nodes import parse_json_text
from nbflow.providers.base import ChatRequest, ImageRequest, Message

__all__ = ["ImageGen", "Llm"]


class ProviderParams(Params):
    provider: str = Field(default="offline", description="offline, openai, anthropic, gemini, ...")
    model: str = Field(default="offline-chat", description="Model name as the provider spells it.")
    base_url: str | None = Field(default=None, description="Override the provider's API base URL.")
    api_key_env: str | None = Field(default=None, description="Name of the secret holding the API key "
                                    "(an environment variable name, never the key itself).")


class LlmParams(ProviderParams):
    system: str = Field(default="", description="System prompt.", json_schema_extra={"widget": "textarea"})
    temperature: float | None = Field(default=None, ge=0, le=2)
    max_tokens: int | None = Field(default=None, ge=1, le=1_000_000)
    json_schema: dict[str, Any] | None = Field(
        default=None, description="Ask for JSON matching this schema; adds a 'json' output.")
    stream: bool = Field(default=True, description="Stream text into the preview as it arrives.")


class Llm(NodeType[LlmParams]):
    type = "llm"
    title = "LLM"
    category = "AI"
    description = "Send a prompt to a chat model; text out, or validated JSON when a schema is given."
    version = 1

    def input_ports(self) -> dict[str, Port]:
        return {"prompt": Port("text", description="the user message"),
                "system": Port("text", required=False, description="overrides the system param")}

    def output_ports(self) -> dict[str, Port]:
        ports = {"text": Port("text")}
        if self.params.json_schema is not None:
            ports["json"] = Port("json", description="parsed output matching json_schema")
        return ports

    async def run(self, inputs: dict[str, Any], ctx: NodeContext) -> dict[str, Any]:
        p = self.params
        provider = ctx.provider(p.provider, base_url=p.base_url, api_key_env=p.api_key_env)
        req = ChatRequest(model=p.model, messages=[Message("user", inputs["prompt"])],
                          system=inputs.get("system") or p.system or None, temperature=p.temperature,
                          max_tokens=p.max_tokens, json_schema=p.json_schema, stream=p.stream)
        streamed: list[str] = []

        def on_delta(piece: str) -> None:
            streamed.append(piece)
            ctx.partial("text", "".join(streamed))

        resp = await provider.chat(req, on_delta=on_delta if p.stream else None)
        ctx.add_usage(provider=resp.provider, model=resp.model, input_tokens=resp.usage.input_tokens,
                      output_tokens=resp.usage.output_tokens)
        if not resp.text.strip():
            raise NodeError(f"{resp.provider} returned an empty completion", retryable=True)
        out: dict[str, Any] = {"text": resp.text}
        if p.json_schema is not None:
            try:
                out["json"] = parse_json_text(resp.text)
            except json.JSONDecodeError as exc:
                raise NodeError(f"model output is not valid JSON: {exc.msg}", retryable=True) from None
        return out


class ImageParams(ProviderParams):
    model: str = Field(default="offline-image", description="Image model name.")
    size: str = Field(default="1024x1024", pattern=r"^\d+x\d+$", description="WIDTHxHEIGHT.")
    n: int = Field(default=1, ge=1, le=10, description="How many images.")


class ImageGen(NodeType[ImageParams]):
    type = "image"
    title = "Image generator"
    category = "AI"
    description = "Generate images from a text prompt."
    inputs = {"prompt": Port("text")}
    outputs = {"image": Port("image", description="the first image"),
               "images": Port("list[image]", description="all images")}

    async def run(self, inputs: dict[str, Any], ctx: NodeContext) -> dict[str, Any]:
        p = self.params
        provider = ctx.provider(p.provider, base_url=p.base_url, api_key_env=p.api_key_env)
        resp = await provider.image(ImageRequest(model=p.model, prompt=inputs["prompt"], size=p.size, n=p.n))
        if not resp.images:
            raise NodeError(f"{resp.provider} returned no image", retryable=True)
        ctx.add_usage(provider=resp.provider, model=resp.model, images=len(resp.images))
        return {"image": resp.images[0], "images": resp.images}
