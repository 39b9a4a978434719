"""AI nodes: ``llm``, ``vision``, ``image``, ``speech``, ``video``, and the generic ``http`` request.

They talk to providers through :class:`nbflow.providers.provider.Provider`, chosen by the ``provider``
param (``offline`` is built in and needs no key). Every provider node has the same connection params
(``base_url``, ``api_key_env``) and a ``preflight`` the engine calls before the run starts, so a missing
key fails before any call is made. How a call runs (request timeout, ``rpm``, ``tpm``,
``max_concurrency``) is the node's ``policy``, not its params, so it never changes a cache key.
"""

from __future__ import annotations

from typing import Any, ClassVar, Literal, TypeVar
from urllib.parse import urlsplit

from pydantic import Field, field_validator

from nbflow.exceptions import NodeError, ParamError, ProviderError
from nbflow.model.values import Media
from nbflow.nodes.nodetype import NodeContext, NodeType, Params, Port
from nbflow.nodes.params import SECRET_REF
from nbflow.providers.catalog import known_providers
from nbflow.providers.models import did_you_mean, fitting_model, model_problem
from nbflow.providers.provider import (
    ChatRequest,
    ChatResponse,
    ImageRequest,
    Message,
    Provider,
    SpeechRequest,
    VideoRequest,
)
from nbflow.providers.structured import REPAIR_PROMPT, check_json, check_schema
from nbflow.providers.templating import extract_path, fill_template, secret_refs, substitute_secrets
from nbflow.providers.tokens import OverflowPolicy, fit_prompt

__all__ = ["HttpRequest", "ImageGen", "Llm", "ProviderNode", "ProviderParams", "SpeechGen", "VideoGen", "Vision"]

#: Tokens an input image is assumed to take when checking the context window (a high estimate).
IMAGE_TOKENS = 1600


class ProviderParams(Params):
    provider: str = Field(default="offline", description="offline, openai, anthropic, gemini, ollama, "
                          "openrouter, openai-compatible, elevenlabs, recraft, bfl, kling, replicate, fal, ...")

    @field_validator("provider")
    @classmethod
    def _known_provider(cls, v: str) -> str:
        known = known_providers()
        if v not in known:
            raise ValueError(f"unknown provider {v!r}{did_you_mean(v, known)}")
        return v

    model: str = Field(default="offline-chat", description="Model name as the provider spells it.")
    base_url: str | None = Field(default=None, description="Override the provider's API base URL "
                                 "(e.g. a self-hosted OpenAI-compatible server).")
    api_key_env: str | None = Field(default=None, pattern=r"^[A-Za-z_][A-Za-z0-9_]*$",
                                    description="Name of the secret holding the API key "
                                    "(an environment variable name, never the key itself).",
                                    json_schema_extra=SECRET_REF)


PP = TypeVar("PP", bound=ProviderParams)


class ProviderNode(NodeType[PP]):
    """Base of the provider nodes: the client config and the pre-run key check (not registered itself).

    Class attributes:
        model_kind: what the node asks of a model (chat, image, speech, video): picks the default model.
    """

    model_kind: ClassVar[str] = "chat"

    def validate_node(self) -> None:
        why = model_problem(self.params.provider, self.params.model, self.model_kind)
        if why:
            raise ParamError(why, node=self.id, field="params.model")

    @classmethod
    def adjust_params(cls, old: dict[str, Any], new: dict[str, Any]) -> dict[str, Any]:
        """A new provider with a model that does not fit it (and no model given with it): the provider's
        documented default model instead (see :data:`nbflow.providers.models.DEFAULT_MODELS`)."""
        fields = cls.Params.model_fields
        provider = new.get("provider", fields["provider"].default)
        if provider == old.get("provider", fields["provider"].default) or new.get("model") != old.get("model"):
            return new
        model = new.get("model", fields["model"].default)
        fit = fitting_model(str(provider), str(model), cls.model_kind)
        return new if fit == model else {**new, "model": fit}

    def _config(self) -> dict[str, Any]:
        p = self.params
        return {"base_url": p.base_url, "api_key_env": p.api_key_env}

    def _provider(self, ctx: NodeContext) -> Provider:
        return ctx.provider(self.params.provider, **self._config())

    def preflight(self, providers: Any) -> None:
        """Make the client now, so a missing key or base URL fails before any node runs."""
        providers.get(self.params.provider, node_id=self.id, **self._config())


def _empty(resp: ChatResponse) -> ProviderError:
    return ProviderError("returned an empty completion", provider=resp.provider, retryable=True)


class LlmParams(ProviderParams):
    system: str = Field(default="", description="System prompt.", json_schema_extra={"widget": "textarea"})
    temperature: float | None = Field(default=None, ge=0, le=2)
    max_tokens: int | None = Field(default=None, ge=1, le=1_000_000)
    json_schema: dict[str, Any] | None = Field(
        default=None, description="Ask for JSON matching this schema; adds a validated 'json' output.")
    stream: bool = Field(default=True, description="Stream text into the preview as it arrives.")
    context_window: int | None = Field(default=None, ge=1, description="The model's context window in "
                                       "tokens, when nbflow does not know it.")
    on_overflow: OverflowPolicy = Field(default="error", description="A prompt too long for the context "
                                        "window: error, or cut it keeping its start or its end.")


class Llm(ProviderNode[LlmParams]):
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

    def validate_node(self) -> None:
        super().validate_node()
        if self.params.json_schema is not None:
            check_schema(self.params.json_schema)

    def _images(self, inputs: dict[str, Any]) -> list[Media]:
        return []

    async def run(self, inputs: dict[str, Any], ctx: NodeContext) -> dict[str, Any]:
        p = self.params
        system = inputs.get("system") or p.system or ""
        images = self._images(inputs)
        prompt = fit_prompt(inputs["prompt"], model=p.model, system=system, max_tokens=p.max_tokens,
                            window=p.context_window, policy=p.on_overflow,
                            extra_tokens=IMAGE_TOKENS * len(images))
        if len(prompt) < len(inputs["prompt"]):
            ctx.log(f"prompt cut to fit the context window ({p.on_overflow}): "
                    f"{len(inputs['prompt']):,} -> {len(prompt):,} characters")
        provider = self._provider(ctx)
        req = ChatRequest(model=p.model, messages=[Message("user", prompt, images)], system=system or None,
                          temperature=p.temperature, max_tokens=p.max_tokens, json_schema=p.json_schema,
                          stream=p.stream)
        resp = await self._call(provider, req, ctx)
        out: dict[str, Any] = {"text": resp.text}
        if p.json_schema is None:
            return out
        value, problem = check_json(resp.text, p.json_schema)
        if problem is not None:
            ctx.log(f"output does not match json_schema ({problem}); asking the model once to repair it")
            repair = ChatRequest(model=p.model, system=req.system, temperature=p.temperature,
                                 max_tokens=p.max_tokens, json_schema=p.json_schema, stream=False,
                                 messages=[*req.messages, Message("assistant", resp.text),
                                           Message("user", REPAIR_PROMPT.format(problem=problem))])
            resp = await self._call(provider, repair, ctx)
            value, problem = check_json(resp.text, p.json_schema)
            if problem is not None:
                raise NodeError(f"output does not match json_schema after one repair attempt: {problem}")
            out["text"] = resp.text
        out["json"] = value
        return out

    async def _call(self, provider: Provider, req: ChatRequest, ctx: NodeContext) -> ChatResponse:
        streamed: list[str] = []

        def on_delta(piece: str) -> None:
            streamed.append(piece)
            ctx.partial("text", "".join(streamed))

        resp = await provider.chat(req, on_delta=on_delta if req.stream else None)
        ctx.add_usage(provider=resp.provider, model=resp.model, input_tokens=resp.usage.input_tokens,
                      output_tokens=resp.usage.output_tokens)
        if not resp.text.strip():
            raise _empty(resp)
        return resp


class Vision(Llm):
    type = "vision"
    title = "Vision"
    category = "AI"
    description = "Ask a vision model about one or more images; text out (or validated JSON)."

    def input_ports(self) -> dict[str, Port]:
        return {"image": Port("image", description="the image to look at"),
                "images": Port("list[image]", required=False, description="more images"),
                "prompt": Port("text", description="what to ask about the image(s)"),
                "system": Port("text", required=False, description="overrides the system param")}

    def _images(self, inputs: dict[str, Any]) -> list[Media]:
        return [inputs["image"], *(inputs.get("images") or [])]


class ImageParams(ProviderParams):
    model: str = Field(default="offline-image", description="Image model name.")
    size: str = Field(default="1024x1024", pattern=r"^\d+x\d+$", description="WIDTHxHEIGHT.")
    n: int = Field(default=1, ge=1, le=10, description="How many images.")
    quality: str | None = Field(default=None, description="Provider quality setting (e.g. standard, hd).")
    style: str | None = Field(default=None, description="Recraft style (realistic_image, digital_illustration, "
                              "vector_illustration for SVG, ...).")
    options: dict[str, Any] = Field(default_factory=dict, description="More model inputs, sent as given "
                                    "(Recraft substyle, Flux seed, a Replicate or fal model's own inputs).")


class ImageGen(ProviderNode[ImageParams]):
    type = "image"
    model_kind = "image"
    title = "Image generator"
    category = "AI"
    description = "Generate images from a text prompt."
    inputs = {"prompt": Port("text")}
    outputs = {"image": Port("image", description="the first image"),
               "images": Port("list[image]", description="all images")}

    async def run(self, inputs: dict[str, Any], ctx: NodeContext) -> dict[str, Any]:
        p = self.params
        extra: dict[str, Any] = {"quality": p.quality} if p.quality else {}
        if p.style:
            extra["style"] = p.style
        extra.update(p.options)
        req = ImageRequest(model=p.model, prompt=inputs["prompt"], size=p.size, n=p.n, extra=extra)
        resp = await self._provider(ctx).image(req)
        if not resp.images:
            raise ProviderError("returned no image", provider=resp.provider, retryable=True)
        ctx.add_usage(provider=resp.provider, model=resp.model, images=len(resp.images),
                      input_tokens=resp.usage.input_tokens, output_tokens=resp.usage.output_tokens)
        return {"image": resp.images[0], "images": resp.images}


class SpeechParams(ProviderParams):
    model: str = Field(default="offline-tts", description="Speech model (tts-1, eleven_multilingual_v2...).")
    voice: str | None = Field(default=None, description="Voice name or id; empty for the provider's default.")
    format: str = Field(default="mp3", description="Audio format (mp3, wav, opus...; offline gives wav).")
    speed: float | None = Field(default=None, gt=0, le=4, description="Speaking speed (OpenAI).")


class SpeechGen(ProviderNode[SpeechParams]):
    type = "speech"
    model_kind = "speech"
    title = "Text to speech"
    category = "AI"
    description = "Read text aloud with a speech model."
    inputs = {"text": Port("text")}
    outputs = {"audio": Port("audio")}

    async def run(self, inputs: dict[str, Any], ctx: NodeContext) -> dict[str, Any]:
        p = self.params
        provider = self._provider(ctx)
        voice = p.voice or str(getattr(provider, "default_voice", "alloy"))
        extra = {"speed": p.speed} if p.speed is not None else {}
        resp = await provider.speech(SpeechRequest(model=p.model, text=inputs["text"], voice=voice,
                                                   format=p.format, extra=extra))
        ctx.add_usage(provider=resp.provider, model=resp.model, characters=resp.usage.characters,
                      audio_seconds=resp.usage.audio_seconds)
        return {"audio": resp.audio}


class VideoParams(ProviderParams):
    provider: str = Field(default="runway", description="Video provider (runway, kling, gemini for Veo, "
                          "replicate, fal).")
    model: str = Field(default="gen4_turbo", description="Video model (gen4_turbo needs an image; veo3, "
                       "kling-v2-1-master, veo-3.0-generate-001 also work from text alone).")
    duration: int = Field(default=5, ge=1, le=60, description="Seconds of video.")
    ratio: str = Field(default="1280:720", description="Output size as the provider spells it.")
    poll_interval: float = Field(default=5.0, gt=0, description="Seconds between job status checks.")
    options: dict[str, Any] = Field(default_factory=dict, description="More model inputs, sent as given "
                                    "(Kling mode or negative_prompt, Veo negativePrompt, a marketplace "
                                    "model's own inputs).")


#: Seconds a video job may take when the node's policy sets no per-attempt timeout.
_VIDEO_JOB_TIMEOUT = 900.0


class VideoGen(ProviderNode[VideoParams]):
    type = "video"
    model_kind = "video"
    title = "Video generator"
    category = "AI"
    description = "Generate a video from a prompt (and optionally a first-frame image); waits for the job."
    inputs = {"prompt": Port("text"), "image": Port("image", required=False, description="first frame")}
    outputs = {"video": Port("video")}

    async def run(self, inputs: dict[str, Any], ctx: NodeContext) -> dict[str, Any]:
        p = self.params
        req = VideoRequest(model=p.model, prompt=inputs["prompt"], image=inputs.get("image"),
                           duration=p.duration, ratio=p.ratio, poll_interval=p.poll_interval,
                           timeout=ctx.attempt_timeout or _VIDEO_JOB_TIMEOUT, extra=dict(p.options))
        resp = await self._provider(ctx).video(req, on_progress=lambda f, m: ctx.progress(f, m))
        ctx.add_usage(provider=resp.provider, model=resp.model, video_seconds=resp.usage.video_seconds)
        return {"video": resp.video}


class HttpParams(Params):
    method: Literal["GET", "POST", "PUT", "PATCH", "DELETE"] = Field(default="POST")
    url: str = Field(default="https://example.com/api", pattern=r"^https?://",
                     description="Request URL; {{name}} placeholders are filled from 'vars' (URL-quoted).")
    headers: dict[str, str] = Field(default_factory=dict, description="Request headers; write secrets as "
                                    "${ENV_NAME} (resolved at run time, never stored).")
    body: Any = Field(default=None, description="JSON body template; \"{{name}}\" takes vars[name] (or the "
                      "text input as {{text}}).")
    response_path: str = Field(default="", description="Part of the JSON response to output, e.g. "
                               "data.items[0].name (empty: all of it).")


class HttpRequest(NodeType[HttpParams]):
    type = "http"
    title = "HTTP request"
    category = "AI"
    description = ("Call any JSON API: method, URL, headers from secrets, a JSON body template, "
                   "a response path.")
    inputs = {"vars": Port("json", required=False, description="values for {{name}} placeholders"),
              "text": Port("text", required=False, description="available as {{text}}")}
    outputs = {"json": Port("json", description="the response (at response_path)"),
               "text": Port("text", description="the raw response body"),
               "status": Port("number", description="the HTTP status")}

    def validate_node(self) -> None:
        for name, value in self.params.headers.items():
            if "{{" in value:
                raise ValueError(f"header {name!r}: use ${{NAME}} for secrets; {{{{...}}}} is for the body")

    def _secret_names(self) -> list[str]:
        return [n for v in self.params.headers.values() for n in secret_refs(v)]

    def _config(self) -> dict[str, Any]:
        parts = urlsplit(self.params.url)
        # 60 s unless the node's policy sets request_timeout (the policy wins in ctx.provider).
        return {"base_url": f"{parts.scheme}://{parts.netloc}", "timeout": 60.0}

    def preflight(self, providers: Any) -> None:
        """Resolve every ``${NAME}`` now, so a missing secret fails before any call."""
        for name in self._secret_names():
            providers.secrets.secret(name, node=self.id)

    async def run(self, inputs: dict[str, Any], ctx: NodeContext) -> dict[str, Any]:
        p = self.params
        given = inputs.get("vars")
        vars: dict[str, Any] = dict(given) if isinstance(given, dict) else {}
        if "text" in inputs:
            vars.setdefault("text", inputs["text"])
        try:
            url = fill_template(p.url, vars, url=True)
            body = fill_template(p.body, vars) if p.body is not None else None
        except KeyError as exc:
            raise NodeError(f"no value for placeholder {{{{{exc.args[0]}}}}} (give it in 'vars')") from None
        headers = {k: substitute_secrets(v, ctx.secret) for k, v in p.headers.items()}
        provider = ctx.provider("http", **self._config())
        reply = await provider.request(p.method, url, headers=headers, json_body=body)  # type: ignore[attr-defined]
        out: dict[str, Any] = {"text": reply.text, "status": reply.status}
        # An answer without what the path names (null, a page from a proxy...) may be a passing fault of the
        # other end: a retryable provider error, like a malformed answer of any provider.
        if reply.json is not None:
            try:
                out["json"] = extract_path(reply.json, p.response_path)
            except KeyError as exc:
                raise ProviderError(f"response_path {p.response_path!r}: {exc.args[0]}", provider="http",
                                    status=reply.status, retryable=True) from None
        elif p.response_path:
            what = "an HTML page" if reply.text.lstrip().startswith("<") else "not JSON"
            raise ProviderError(f"response is {what}, so response_path {p.response_path!r} cannot be read",
                                provider="http", status=reply.status, retryable=True)
        return out
