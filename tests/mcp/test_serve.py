"""Flows served as MCP tools: the toolset directly, and the SDK's client over stdio and streamable HTTP."""

from __future__ import annotations

import asyncio
import base64
import os
import sys
from pathlib import Path

import mcp.types as mt
import pytest
from mcp import Client, StdioServerParameters

import nbflow
from nbflow.cli import main as cli_main
from nbflow.exceptions import FlowError
from nbflow.mcp.server import FlowToolset

from .conftest import TOOLSERVER, start_process, stop_process
from .toolserver import PNG

PNG_URL = "data:image/png;base64," + base64.b64encode(PNG).decode()


def shout_flow() -> nbflow.Flow:
    f = nbflow.Flow("shout", description="Add an exclamation mark and draw it.")
    f.add("input.text", id="text", description="what to shout")
    f.add("input.number", id="times", default=1, required=False)
    f.add("template", id="t", template="{{text}}!")
    f.add("image", id="img")
    f.add("output", id="shouted")
    f.add("output", id="picture")
    f.connect("text.value", "t.text")
    f.connect("t.text", "shouted.value")
    f.connect("t.text", "img.prompt")
    f.connect("img.image", "picture.value")
    return f


def photo_flow() -> nbflow.Flow:
    f = nbflow.Flow("same photo")
    f.add("input.image", id="photo")
    f.add("output", id="photo_out")
    f.connect("photo.value", "photo_out.value")
    return f


def number_flow() -> nbflow.Flow:
    f = nbflow.Flow("to-number")
    f.add("input.text", id="text")
    f.add("convert", id="num", to="number")
    f.add("output", id="n")
    f.connect("text.value", "num.value")
    f.connect("num.value", "n.value")
    return f


@pytest.fixture
def flow_files(tmp_path: Path) -> list[str]:
    paths = []
    for flow in (shout_flow(), photo_flow(), number_flow()):
        p = tmp_path / f"{flow.name.replace(' ', '_')}.json"
        flow.save(p)
        paths.append(str(p))
    return paths


# -- the toolset, without a transport ----------------------------------------------------------

def test_definitions_come_from_the_flows():
    toolset = FlowToolset([shout_flow(), photo_flow()], store=False)
    shout, photo = toolset.definitions()
    assert shout.name == "shout"
    assert shout.description == "Add an exclamation mark and draw it. Outputs: shouted, picture."
    assert shout.input_schema == {
        "type": "object", "additionalProperties": False, "required": ["text"],
        "properties": {"text": {"type": "string", "description": "what to shout"},
                       "times": {"type": "number", "default": 1}}}
    assert photo.name == "same_photo"  # spaces are not allowed in tool names


def test_duplicate_tool_names_are_refused():
    with pytest.raises(FlowError, match="tool name 'shout' is already taken"):
        FlowToolset([shout_flow(), shout_flow()])


def test_call_results_and_errors():
    toolset = FlowToolset([shout_flow(), number_flow()], store=False)

    async def calls() -> list[mt.CallToolResult]:
        return [await toolset.call("shout", {"text": "hey"}),
                await toolset.call("shout", {}),
                await toolset.call("shout", {"text": "x", "colour": "red"}),
                await toolset.call("nope", {}),
                await toolset.call("to-number", {"text": "abc"})]

    ok, missing, extra, unknown, failed = asyncio.run(calls())
    assert not ok.is_error
    assert ok.content[0] == mt.TextContent(text="hey!")
    assert ok.content[1].type == "image" and ok.content[1].mime_type == "image/png"
    assert ok.structured_content["shouted"] == "hey!"
    assert (missing.is_error, missing.content[0].text) == (True, "tool 'shout': missing required argument 'text'")
    assert extra.content[0].text == "tool 'shout': unknown argument 'colour' (arguments: text, times)"
    assert unknown.content[0].text == "unknown tool 'nope' (tools: shout, to-number)"
    assert failed.is_error and failed.content[0].text.startswith("node 'num':")
    assert "\n" not in failed.content[0].text


def test_media_inputs_over_http_must_be_data_urls(tmp_path):
    png = tmp_path / "dot.png"
    png.write_bytes(PNG)
    remote = FlowToolset([photo_flow()], local_media=False, store=False)
    local = FlowToolset([photo_flow()], local_media=True, store=False)
    refused = asyncio.run(remote.call("same_photo", {"photo": str(png)}))
    assert refused.is_error and "data: URL" in refused.content[0].text
    for toolset, value in ((remote, PNG_URL), (local, str(png))):
        res = asyncio.run(toolset.call("same_photo", {"photo": value}))
        assert not res.is_error, res.content
        assert base64.b64decode(res.content[0].data) == PNG


# -- the SDK's client against `nbflow mcp serve` -----------------------------------------------

async def _exercise(target) -> dict:
    async with Client(target) as client:
        tools = await client.list_tools()
        ok = await client.call_tool("shout", {"text": "hello"})
        bad = await client.call_tool("shout", {"text": 3})
        failed = await client.call_tool("to-number", {"text": "abc"})
        photo = await client.call_tool("same_photo", {"photo": PNG_URL})
    return {"tools": [t.name for t in tools.tools], "ok": ok, "bad": bad, "failed": failed, "photo": photo}


def _check(seen: dict) -> None:
    assert seen["tools"] == ["shout", "same_photo", "to-number"]
    ok = seen["ok"]
    assert not ok.is_error and ok.content[0].text == "hello!"
    assert ok.structured_content["shouted"] == "hello!"
    assert seen["bad"].is_error and seen["bad"].content[0].text == "tool 'shout': argument 'text': 3 is not of type 'string'"
    assert seen["failed"].is_error and seen["failed"].content[0].text.startswith("node 'num':")
    assert base64.b64decode(seen["photo"].content[0].data) == PNG


def test_sdk_client_calls_served_flows_over_stdio(flow_files):
    # the SDK passes only a few variables on: give the server this test's home, not the user's
    params = StdioServerParameters(command=sys.executable, args=["-m", "nbflow", "mcp", "serve", *flow_files],
                                   env={"NBFLOW_HOME": os.environ["NBFLOW_HOME"]})
    _check(asyncio.run(_exercise(params)))


def test_sdk_client_calls_served_flows_over_http(flow_files):
    proc, line = start_process([sys.executable, "-m", "nbflow", "mcp", "serve", *flow_files, "--transport", "http",
                                "--port", "0"], marker="nbflow: serving", stream="stderr")
    try:
        assert "serving 3 tool(s) (shout, same_photo, to-number)" in line
        url = line.rsplit(" ", 1)[1]
        _check(asyncio.run(_exercise(url)))
    finally:
        stop_process(proc)
    runs = nbflow.open_store().list_runs(source="mcp")  # served runs are recorded like `nbflow run`'s
    assert sorted(r.status for r in runs) == ["failed", "succeeded", "succeeded"]


def test_http_token(flow_files):
    proc, line = start_process([sys.executable, "-m", "nbflow", "mcp", "serve", flow_files[0], "--transport", "http",
                                "--port", "0", "--token-env", "NBFLOW_TEST_SERVE_TOKEN", "--no-store"],
                               env={"NBFLOW_TEST_SERVE_TOKEN": "serve-token-42"}, marker="nbflow: serving",
                               stream="stderr")
    url = line.rsplit(" ", 1)[1]
    try:
        f = nbflow.Flow("caller")
        f.add("mcp.tool", id="call", url=url, tool="shout", arguments={"text": "hi"},
              headers={"Authorization": "Bearer ${NBFLOW_TEST_SERVE_TOKEN}"}, policy={"retry": {"attempts": 1}})
        f.add("output", id="out")
        f.connect("call.text", "out.value")
        from nbflow.providers.catalog import Providers
        from nbflow.providers.secrets import DictSecrets, Secrets

        good = Providers(Secrets(DictSecrets({"NBFLOW_TEST_SERVE_TOKEN": "serve-token-42"})))
        bad = Providers(Secrets(DictSecrets({"NBFLOW_TEST_SERVE_TOKEN": "not-the-token"})))
        assert f.run(providers=good).outputs == {"out": "hi!"}
        failed = f.run(providers=bad)
        assert failed.nodes["call"].error["message"].endswith("answered HTTP 401 (check the url and the headers' secrets)")
    finally:
        stop_process(proc)


def test_a_flow_calls_a_served_flow(flow_files):
    """nbflow on both sides: an mcp.tool node calls `nbflow mcp serve` over stdio."""
    f = nbflow.Flow("outer")
    f.add("input.text", id="word")
    f.add("mcp.tool", id="call", command=sys.executable, args=["-m", "nbflow", "mcp", "serve", flow_files[0]],
          tool="shout", input_schema=FlowToolset([shout_flow()]).tools["shout"].input_schema)
    f.add("output", id="text")
    f.add("output", id="picture")
    f.connect("word.value", "call.text")
    f.connect("call.text", "text.value")
    f.connect("call.image", "picture.value")
    result = f.run(word="ahoy")
    assert result.status == "succeeded", result.error
    assert result.outputs["text"] == "ahoy!"
    assert result.outputs["picture"].mime == "image/png"
    # nbflow hands its own settings (NBFLOW_HOME) to the server it starts: the served run is in this
    # test's run store, not in the user's
    served = nbflow.open_store().list_runs(source="mcp")
    assert [r.status for r in served] == ["succeeded"]


# -- the command line --------------------------------------------------------------------------

def test_serve_invalid_flow_exits_2_with_one_line(tmp_path, capsys):
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    assert cli_main(["mcp", "serve", str(bad)]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"nbflow: error: {bad}:") and err.count("\n") == 1


def test_tools_command_lists_a_stdio_server(capsys):
    assert cli_main(["mcp", "tools", "--", sys.executable, TOOLSERVER]) == 0
    out = capsys.readouterr().out
    assert "add(a: integer, b: integer)\n    Add two integers.\n" in out
    assert "echo(text: string, times?: integer)" in out


def test_tools_command_unreachable_server_exits_1(capsys):
    assert cli_main(["mcp", "tools", "http://127.0.0.1:9/mcp"]) == 1
    assert capsys.readouterr().err == "nbflow: error: cannot connect to MCP server 'http://127.0.0.1:9/mcp'\n"


def test_tools_command_refuses_a_literal_token(capsys):
    assert cli_main(["mcp", "tools", "http://127.0.0.1:9/mcp", "--header", "Authorization=Bearer abc"]) == 2
    assert "name the secret as ${ENV_NAME}" in capsys.readouterr().err
