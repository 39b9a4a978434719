"""Graph inputs and outputs.

A flow's named inputs are its ``input.*`` nodes (the name defaults to the node id); its named
outputs are its ``output`` nodes. ``nbflow run flow.json --input topic=teapots`` feeds the input
named ``topic``; the run result's ``outputs`` maps each output name to its value.
"""

from __future__ import annotations

import json
import math
from typing import Any, ClassVar, Generic, TypeVar
from urllib.parse import urlsplit

from pydantic import Field

from nbflow.exceptions import InputError, MediaError
from nbflow.model.types import check_value
from nbflow.model.values import MAX_MEDIA_BYTES, Media
from nbflow.nodes.nodetype import NodeContext, NodeType, Params, Port
from nbflow.providers.clients import DEFAULT_CLIENTS, HttpClients

__all__ = [
    "BooleanInput",
    "FileInput",
    "GraphInput",
    "GraphOutput",
    "ImageInput",
    "JsonInput",
    "NumberInput",
    "TextInput",
    "load_media",
]


class InputParams(Params):
    name: str | None = Field(default=None, description="Input name used by `--input NAME=...`; "
                             "defaults to the node id.")
    description: str = Field(default="", description="Shown by the server and in --help of the flow.")
    required: bool = Field(default=True, description="A run without this input and no default fails.")


IP = TypeVar("IP", bound=InputParams)


class GraphInput(NodeType[IP], Generic[IP]):
    """Base of the ``input.*`` node types: read a named graph input, or the default."""

    category = "Inputs"
    role = "input"
    value_type: ClassVar[str] = "any"

    @property
    def input_name(self) -> str:
        return self.params.name or self.id

    @property
    def default(self) -> Any:
        return getattr(self.params, "default", None)

    @property
    def required(self) -> bool:
        return self.params.required and self.default is None

    def output_ports(self) -> dict[str, Port]:
        return {"value": Port(self.value_type, description=f"the {self.value_type} input")}

    def parse(self, raw: Any) -> Any:
        """Turn a value given at run time (maybe a CLI string) into this input's type."""
        why = check_value(raw, self.value_type)
        if why:
            raise InputError(f"input {self.input_name!r}: {why}")
        return raw

    async def load(self, value: Any, ctx: NodeContext) -> Any:
        """Resolve a parsed value (e.g. read an image path). Runs inside the node: a media input fetches a
        URL through ``ctx.clients``; others ask ``ctx`` nothing, so a run of them makes no providers."""
        return value

    async def run(self, inputs: dict[str, Any], ctx: NodeContext) -> dict[str, Any]:
        given, value = ctx.graph_input(self.input_name)
        if not given:  # the default is already typed: the params model validated it
            value = self.default
            if value is None:
                if self.params.required:
                    raise InputError(f"missing graph input {self.input_name!r}", node=self.id)
                return {}
        return {"value": await self.load(value, ctx)}


class TextInputParams(InputParams):
    default: str | None = Field(default=None, description="Used when the run does not give this input.")
    multiline: bool = Field(default=False, description="Show a text area on the canvas.")


class TextInput(GraphInput[TextInputParams]):
    type = "input.text"
    title = "Text input"
    description = "A named text input of the flow."
    value_type = "text"

    def parse(self, raw: Any) -> Any:
        if isinstance(raw, (int, float)) and not isinstance(raw, bool):
            return str(raw)
        return super().parse(raw)


class NumberInputParams(InputParams):
    default: float | None = None


class NumberInput(GraphInput[NumberInputParams]):
    type = "input.number"
    title = "Number input"
    description = "A named number input; CLI strings like '3.5' are parsed."
    value_type = "number"

    def parse(self, raw: Any) -> Any:
        if isinstance(raw, str):
            try:
                v = float(raw)
            except ValueError:
                raise InputError(f"input {self.input_name!r}: {raw!r} is not a number") from None
            if not math.isfinite(v):
                raise InputError(f"input {self.input_name!r}: {raw!r} is not a finite number")
            return int(v) if v.is_integer() and "." not in raw and "e" not in raw.lower() else v
        return super().parse(raw)


class BooleanInputParams(InputParams):
    default: bool | None = None


class BooleanInput(GraphInput[BooleanInputParams]):
    type = "input.boolean"
    title = "Boolean input"
    description = "A named true/false input; CLI strings true/false/yes/no/1/0 are parsed."
    value_type = "boolean"

    def parse(self, raw: Any) -> Any:
        if isinstance(raw, str):
            low = raw.strip().lower()
            if low in ("true", "yes", "1", "on"):
                return True
            if low in ("false", "no", "0", "off"):
                return False
            raise InputError(f"input {self.input_name!r}: {raw!r} is not true or false")
        return super().parse(raw)


class JsonInputParams(InputParams):
    default: Any = None


class JsonInput(GraphInput[JsonInputParams]):
    type = "input.json"
    title = "JSON input"
    description = "A named JSON input; a CLI string is parsed as JSON."
    value_type = "json"

    def parse(self, raw: Any) -> Any:
        if isinstance(raw, str):
            try:
                return json.loads(raw)
            except json.JSONDecodeError as exc:
                raise InputError(f"input {self.input_name!r}: not valid JSON ({exc.msg})") from None
        return super().parse(raw)


#: Seconds to fetch a media URL when the node's policy sets no request_timeout.
MEDIA_FETCH_TIMEOUT = 30.0


async def load_media(ref: Any, *, expect: str, max_bytes: int = MAX_MEDIA_BYTES,
                     timeout: float | None = None, clients: HttpClients | None = None) -> Media:
    """Read media from a Media value, bytes, a local path, a ``data:`` URL or an http(s) URL.

    URLs are fetched through :func:`nbflow.providers.netguard.fetch_url`: internal addresses are
    refused unless allowed (``NBFLOW_ALLOW_HOSTS``, ``--allow-host``), every redirect hop is checked and
    the body is capped at ``max_bytes``.
    """
    if isinstance(ref, Media):
        if ref.data is not None:
            return Media.from_bytes(ref.data, mime=ref.mime, name=ref.name, expect=expect,
                                    max_bytes=max_bytes, meta=ref.meta)
        ref = ref.url
    if isinstance(ref, (bytes, bytearray)):
        return Media.from_bytes(bytes(ref), expect=expect, max_bytes=max_bytes)
    if not isinstance(ref, str) or not ref:
        raise MediaError(f"expected a path or URL for the {expect}, got {type(ref).__name__}")
    if ref.startswith("data:"):
        import base64

        try:
            _, b64 = ref.split(",", 1)
            data = base64.b64decode(b64, validate=True)
        except ValueError:
            raise MediaError("malformed data: URL") from None
        return Media.from_bytes(data, expect=expect, max_bytes=max_bytes)
    if ref.startswith(("http://", "https://")):
        from nbflow.providers.netguard import fetch_url

        parts = urlsplit(ref)
        source = clients or DEFAULT_CLIENTS
        client = source.client("fetch", f"{parts.scheme}://{parts.netloc}")
        got = await fetch_url(ref, max_bytes=max_bytes, timeout=timeout or MEDIA_FETCH_TIMEOUT, client=client,
                              offline=source.offline)
        return Media.from_bytes(got.data, name=got.name, expect=expect, max_bytes=max_bytes, mime=got.content_type)
    return Media.from_path(ref, expect=expect, max_bytes=max_bytes)


class MediaInputParams(InputParams):
    default: str | None = Field(default=None, description="A path or URL used when the run gives none.")
    max_bytes: int = Field(default=MAX_MEDIA_BYTES, ge=1, description="Size limit.")


class ImageInput(GraphInput[MediaInputParams]):
    type = "input.image"
    title = "Image input"
    description = "A named image input from a path or URL (PNG, JPEG, WebP or GIF)."
    value_type = "image"

    def parse(self, raw: Any) -> Any:
        return raw

    async def load(self, value: Any, ctx: NodeContext) -> Any:
        try:
            return await load_media(value, expect="image", max_bytes=self.params.max_bytes,
                                    timeout=ctx.request_timeout, clients=ctx.clients)
        except MediaError as exc:
            raise InputError(f"input {self.input_name!r}: {exc}", node=self.id) from None


class FileInput(ImageInput):
    type = "input.file"
    title = "File input"
    description = "A named file input from a path or URL (any type)."
    value_type = "file"

    async def load(self, value: Any, ctx: NodeContext) -> Any:
        try:
            return await load_media(value, expect="file", max_bytes=self.params.max_bytes,
                                    timeout=ctx.request_timeout, clients=ctx.clients)
        except MediaError as exc:
            raise InputError(f"input {self.input_name!r}: {exc}", node=self.id) from None


class OutputParams(Params):
    name: str | None = Field(default=None, description="Output name in results; defaults to the node id.")


class GraphOutput(NodeType[OutputParams]):
    type = "output"
    title = "Output"
    category = "Outputs"
    description = "A named output of the flow: whatever is wired in appears in the run's outputs."
    role = "output"
    inputs = {"value": Port("any", description="the value to return")}

    @property
    def output_name(self) -> str:
        return self.params.name or self.id

    async def run(self, inputs: dict[str, Any], ctx: NodeContext) -> dict[str, Any]:
        return {}
