"""JSON Schema <-> port types, argument checks, and MCP content <-> nbflow values (no server needed)."""

from __future__ import annotations

import base64

import mcp.types as mt
import pytest

from nbflow.exceptions import NodeError
from nbflow.model.record import RunResult
from nbflow.model.values import Media
from nbflow.providers.mcp.content import result_outputs, run_result_content
from nbflow.providers.mcp.schema import argument_ports, check_arguments, flow_input_schema, port_type_for, schema_for

from .toolserver import PNG, WAV


@pytest.mark.parametrize(("schema", "port"), [
    ({"type": "string"}, "text"),
    ({"type": "integer"}, "number"),
    ({"type": "number"}, "number"),
    ({"type": "boolean"}, "boolean"),
    ({"type": ["string", "null"]}, "text"),
    ({"type": ["string", "number"]}, "json"),
    ({"enum": ["a", "b"]}, "text"),
    ({"type": "array", "items": {"type": "string"}}, "json"),
    ({"type": "object"}, "json"),
    ({"anyOf": [{"type": "string"}, {"type": "integer"}]}, "json"),
    ({}, "json"),
    ("not a schema", "json"),
])
def test_port_type_for(schema, port):
    assert port_type_for(schema) == port


def test_argument_ports_follow_properties_and_required():
    schema = {"type": "object", "required": ["query"],
              "properties": {"query": {"type": "string", "description": "what to find"},
                             "limit": {"type": "integer", "title": "Limit"},
                             "bad.name": {"type": "string"}}}
    assert argument_ports(schema) == {"query": ("text", True, "what to find"), "limit": ("number", False, "Limit")}
    assert argument_ports(None) == {}
    assert argument_ports({"type": "object"}) == {}


@pytest.mark.parametrize(("port", "schema"), [
    ("text", {"type": "string"}),
    ("number", {"type": "number"}),
    ("boolean", {"type": "boolean"}),
    ("json", {}),
    ("any", {}),
    ("list[text]", {"type": "array", "items": {"type": "string"}}),
    ("list[any]", {"type": "array", "items": {}}),
])
def test_schema_for(port, schema):
    assert schema_for(port) == schema


def test_schema_for_media_is_a_string_with_a_hint():
    s = schema_for("image")
    assert s["type"] == "string" and "data: URL" in s["description"]


def test_flow_input_schema():
    schema = flow_input_schema({
        "topic": {"type": "text", "required": True, "default": None, "description": "what about"},
        "n": {"type": "number", "required": False, "default": 3, "description": ""},
        "photo": {"type": "image", "required": False, "default": "cat.png", "description": "a photo"},
    })
    assert schema["required"] == ["topic"]
    assert schema["additionalProperties"] is False
    assert schema["properties"]["topic"] == {"type": "string", "description": "what about"}
    assert schema["properties"]["n"] == {"type": "number", "default": 3}
    assert "default" not in schema["properties"]["photo"]  # a local path means nothing to a remote caller
    assert schema["properties"]["photo"]["description"].startswith("a photo (the image:")


SCHEMA = {"type": "object", "required": ["a", "b"], "additionalProperties": False,
          "properties": {"a": {"type": "integer"}, "b": {"type": "integer"}}}


@pytest.mark.parametrize(("args", "problem"), [
    ({"a": 1, "b": 2}, None),
    ({"a": 1}, "missing required argument 'b'"),
    ({"a": "x", "b": 2}, "argument 'a': 'x' is not of type 'integer'"),
    ({"a": 1, "b": 2, "c": 3}, "unknown argument 'c' (arguments: a, b)"),
])
def test_check_arguments(args, problem):
    assert check_arguments(args, SCHEMA) == problem


def test_check_arguments_is_one_line_and_trusts_the_server_with_a_broken_schema():
    why = check_arguments({"a": "x" * 500, "b": 1}, SCHEMA)
    assert why is not None and "\n" not in why and len(why) <= 160
    assert check_arguments({"a": 1}, {"type": "object", "required": 5}) is None


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def test_result_outputs_structured_text_and_media():
    res = mt.CallToolResult(
        content=[mt.TextContent(text="hello"),
                 mt.ImageContent(data=_b64(PNG), mime_type="image/png"),
                 mt.AudioContent(data=_b64(WAV), mime_type="audio/wav"),
                 mt.EmbeddedResource(resource=mt.TextResourceContents(uri="x://t", text="world")),
                 mt.EmbeddedResource(resource=mt.BlobResourceContents(uri="x://files/report.pdf",
                                                                      mime_type="application/pdf",
                                                                      blob=_b64(b"%PDF-1.4 tiny")))],
        structured_content={"answer": 42})
    out = result_outputs(res)
    assert out["text"] == "hello\nworld"
    assert out["json"] == {"answer": 42}
    assert isinstance(out["image"], Media) and out["image"].mime == "image/png" and out["image"].data == PNG
    assert out["images"] == [out["image"]]
    assert out["audio"].kind == "audio"
    assert [f.name for f in out["files"]] == ["report.pdf"] and out["files"][0].mime == "application/pdf"
    assert out["content"][1] == {"type": "image", "mimeType": "image/png", "size": len(PNG)}


@pytest.mark.parametrize(("text", "json_out"), [('{"a": [1, 2]}', {"a": [1, 2]}), ("3", 3), ("plain words", None)])
def test_result_outputs_json_from_text(text, json_out):
    out = result_outputs(mt.CallToolResult(content=[mt.TextContent(text=text)]))
    assert out.get("json") == json_out
    assert ("json" in out) is (json_out is not None)
    assert "image" not in out and out["images"] == []


def test_result_outputs_rejects_bad_base64():
    with pytest.raises(NodeError, match="not valid base64"):
        result_outputs(mt.CallToolResult(content=[mt.ImageContent(data="***", mime_type="image/png")]))


def _run(status="succeeded", outputs=None, error=None) -> RunResult:
    return RunResult(run_id="r1", flow="f", status=status, outputs=outputs or {}, error=error)


def test_run_result_content_single_text_output():
    res = run_result_content(_run(outputs={"answer": "hi"}), "f")
    assert not res.is_error
    assert [b.text for b in res.content] == ["hi"]
    assert res.structured_content == {"answer": "hi"}


def test_run_result_content_several_outputs_and_media():
    img = Media.from_bytes(PNG, expect="image")
    pdf = Media.from_bytes(b"%PDF-1.4 x", name="r.pdf")
    res = run_result_content(_run(outputs={"n": 3, "tags": ["a"], "img": img, "doc": pdf}), "f")
    text, image, doc = res.content
    assert text.text == '{"n": 3, "tags": ["a"]}'
    assert image.type == "image" and base64.b64decode(image.data) == PNG
    assert doc.type == "resource" and doc.resource.uri == "nbflow://f/r1/r.pdf"
    assert res.structured_content["img"]["$media"] == "image" and "data_base64" not in res.structured_content["img"]


def test_run_result_content_failed_and_paused_are_errors():
    failed = run_result_content(_run("failed", error="node 'x': boom"), "f")
    assert failed.is_error and failed.content[0].text == "node 'x': boom"
    paused = run_result_content(_run("paused"), "f")
    assert paused.is_error and "approval" in paused.content[0].text and "r1" in paused.content[0].text
