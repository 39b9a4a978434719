"""The mcp.tool node against a real MCP server (the SDK-built tests/mcp/toolserver.py) over stdio and HTTP."""

from __future__ import annotations

import sys

import pytest

import nbflow
import nbflow.mcp
from nbflow.exceptions import ParamError, SecretError
from nbflow.nodes.mcp_nodes import McpTool, McpToolParams
from nbflow.providers.catalog import Providers
from nbflow.providers.secrets import DictSecrets, Secrets

from .conftest import TOOLSERVER, start_toolserver, stop_process

ADD_SCHEMA = {"type": "object", "required": ["a", "b"],
              "properties": {"a": {"type": "integer"}, "b": {"type": "integer"}}}
NO_RETRY = {"retry": {"attempts": 1}}


def tool_flow(server: dict, tool: str, *, schema: dict | None = None, arguments: dict | None = None,
              policy: dict | None = None, out: str = "text") -> nbflow.Flow:
    f = nbflow.Flow("mcp-test")
    f.add("mcp.tool", id="call", tool=tool, input_schema=schema, arguments=arguments or {},
          policy=policy or NO_RETRY, **server)
    f.add("output", id="result")
    f.connect(f"call.{out}", "result.value")
    return f


def node_error(result: nbflow.RunResult) -> str:
    assert result.status == "failed", result
    return result.nodes["call"].error["message"]


# -- ports and params (no server) ---------------------------------------------------------------

def test_ports_follow_the_input_schema():
    node = McpTool(McpToolParams(command="srv", tool="add", input_schema=ADD_SCHEMA, arguments={"b": 1}), "call")
    assert {k: (p.type, p.required) for k, p in node.input_ports().items()} == {
        "a": ("number", True), "b": ("number", False), "arguments": ("json", False)}
    bare = McpTool(McpToolParams(command="srv", tool="add"), "call")
    assert list(bare.input_ports()) == ["arguments"]
    f = nbflow.Flow()
    f.add("mcp.tool", id="call", command="srv", tool="add", input_schema=ADD_SCHEMA)
    f.add("input.text", id="t")
    with pytest.raises(nbflow.WiringError, match="type mismatch"):  # text does not connect to an integer
        f.connect("t.value", "call.a")


def test_command_and_url_together_is_a_param_error():
    with pytest.raises(ParamError, match="not both"):
        nbflow.Flow().add("mcp.tool", id="x", command="srv", url="http://127.0.0.1:1/mcp")


def test_literal_authorization_header_is_refused_when_set():
    with pytest.raises(ParamError, match=r"header 'Authorization': name the secret as \$\{ENV_NAME\}") as err:
        tool_flow({"url": "http://127.0.0.1:1/mcp", "headers": {"Authorization": "Bearer abc"}}, "add")
    assert err.value.node == "call"


@pytest.mark.parametrize(("server", "tool", "match"), [
    ({}, "add", "no MCP server"),
    ({"command": "srv"}, "", "no tool chosen"),
])
def test_preflight_stops_the_run_before_any_node(server, tool, match):
    with pytest.raises(ParamError, match=match) as err:
        tool_flow(server, tool).run()
    assert err.value.node == "call"


def test_missing_secret_fails_before_the_run():
    f = tool_flow({"url": "http://127.0.0.1:1/mcp", "headers": {"Authorization": "Bearer ${NBFLOW_TEST_NO_SUCH}"}},
                  "add")
    with pytest.raises(SecretError, match="NBFLOW_TEST_NO_SUCH"):
        f.run(providers=Providers(Secrets(DictSecrets())))


# -- stdio ------------------------------------------------------------------------------------

def test_stdio_flow_calls_a_tool_with_wired_and_fixed_arguments(stdio_toolserver):
    f = nbflow.Flow("add")
    f.add("input.number", id="x")
    f.add("mcp.tool", id="call", tool="add", input_schema=ADD_SCHEMA, arguments={"b": 10}, **stdio_toolserver)
    f.add("output", id="sum")
    f.add("output", id="text")
    f.connect("x.value", "call.a")
    f.connect("call.json", "sum.value")
    f.connect("call.text", "text.value")
    result = f.run(x=5)
    assert result.status == "succeeded", result.error
    assert result.outputs == {"sum": {"result": 15}, "text": "15"}


def test_stdio_media_outputs(stdio_toolserver):
    f = tool_flow(stdio_toolserver, "picture", arguments={"caption": "a dot"}, out="image")
    f.add("output", id="sound")
    f.add("output", id="caption")
    f.connect("call.audio", "sound.value")
    f.connect("call.text", "caption.value")
    result = f.run()
    assert result.status == "succeeded", result.error
    assert result.outputs["result"].mime == "image/png"
    assert result.outputs["sound"].mime == "audio/wav"
    assert result.outputs["caption"] == "a dot"


def test_stdio_env_takes_secrets_by_reference(stdio_toolserver):
    server = {**stdio_toolserver, "env": {"GREETING": "hello ${NBFLOW_TEST_SECRET}"}}
    f = tool_flow(server, "env", arguments={"name": "GREETING"})
    providers = Providers(Secrets(DictSecrets({"NBFLOW_TEST_SECRET": "s3cr3t-value"})))
    result = f.run(providers=providers)
    # The tool server got the value (it echoes it back); the echo is scrubbed on its way out of the node.
    assert result.outputs == {"result": "hello [redacted]"}
    assert "s3cr3t-value" not in f.dumps()


@pytest.mark.parametrize(("tool", "arguments", "expected"), [
    ("nope", {}, "unknown tool 'nope' on MCP server"),
    ("add", {"a": "x", "b": 1}, "tool 'add': argument 'a': 'x' is not of type 'integer'"),
    ("add", {"a": 1}, "tool 'add': missing required argument 'b'"),
    ("fail", {"message": "the disk is full"}, "tool 'fail' failed: Error executing tool fail: the disk is full"),
])
def test_stdio_bad_calls_give_one_line_node_errors(stdio_toolserver, tool, arguments, expected):
    result = tool_flow(stdio_toolserver, tool, arguments=arguments).run()
    message = node_error(result)
    assert message.startswith(expected), message
    assert "\n" not in message and "Traceback" not in message
    assert result.nodes["call"].attempts == 1


def test_stdio_arguments_port_must_be_an_object(stdio_toolserver):
    f = tool_flow(stdio_toolserver, "echo")
    f.add("input.json", id="args")
    f.connect("args.value", "call.arguments")
    assert node_error(f.run(args="[1, 2]")) == ("input 'arguments': expected a JSON object of argument name -> "
                                                "value, got list")
    assert f.run(args='{"text": "ab", "times": 2}').outputs == {"result": "abab"}


def test_stdio_server_crash_is_a_clean_node_error(stdio_toolserver):
    message = node_error(tool_flow(stdio_toolserver, "crash").run())
    assert "exited or closed the connection" in message
    assert "toolserver: crashing on purpose" in message  # the server's last stderr line says why


def test_command_that_does_not_exist():
    message = node_error(tool_flow({"command": "/nonexistent/mcp-server"}, "add").run())
    assert message == "cannot start MCP server '/nonexistent/mcp-server': No such file or directory"


def test_stdio_server_that_exits_at_start_reports_its_stderr():
    server = {"command": sys.executable, "args": ["-c", "import sys; sys.exit('missing API key for the server')"]}
    message = node_error(tool_flow(server, "add").run())
    assert message.endswith("(server stderr: missing API key for the server)")


def test_param_timeout_is_retryable(http_toolserver):
    f = tool_flow({"url": http_toolserver, "timeout": 0.5}, "slow", arguments={"seconds": 3},
                  policy={"retry": {"attempts": 2, "backoff": 0.01, "jitter": False}})
    result = f.run()
    assert node_error(result) == f"MCP server '{http_toolserver}' did not answer within 0.5s"
    assert result.nodes["call"].attempts == 2  # a timeout is worth another attempt


def test_engine_timeout_policy_cancels_a_stdio_call(stdio_toolserver):
    # The engine cancels the node's task: the SDK's task groups and the server process must unwind.
    f = tool_flow(stdio_toolserver, "slow", arguments={"seconds": 30}, policy={"timeout": 2, "retry": {"attempts": 1}})
    assert node_error(f.run()) == "timed out after 2s"


def test_list_tools_and_choose_tool(stdio_toolserver):
    tools = {t["name"]: t for t in nbflow.mcp.list_tools([sys.executable, TOOLSERVER])}
    assert {"add", "echo", "picture", "fail", "crash"} <= set(tools)
    assert tools["add"]["input_schema"]["required"] == ["a", "b"]
    assert tools["add"]["description"] == "Add two integers."

    f = nbflow.Flow()
    f.add("mcp.tool", id="call", **stdio_toolserver)
    chosen = nbflow.mcp.choose_tool(f, "call", "echo")
    assert chosen["name"] == "echo"
    assert f.node("call").params["tool"] == "echo"
    ports = McpTool(McpToolParams(**f.node("call").params), "call").input_ports()
    assert (ports["text"].type, ports["text"].required) == ("text", True)
    assert (ports["times"].type, ports["times"].required) == ("number", False)
    with pytest.raises(ParamError, match="no tool 'nope'"):
        nbflow.mcp.choose_tool(f, "call", "nope")


# -- streamable HTTP ---------------------------------------------------------------------------

def test_http_flow_calls_a_tool(http_toolserver):
    f = nbflow.Flow("echo")
    f.add("input.text", id="word")
    f.add("mcp.tool", id="call", url=http_toolserver, tool="echo", arguments={"times": 3},
          input_schema={"type": "object", "properties": {"text": {"type": "string"}, "times": {"type": "integer"}}})
    f.add("output", id="result")
    f.connect("word.value", "call.text")
    f.connect("call.text", "result.value")
    assert f.run(word="ho").outputs == {"result": "hohoho"}


def test_http_bad_calls(http_toolserver):
    server = {"url": http_toolserver}
    assert node_error(tool_flow(server, "nope").run()).startswith("unknown tool 'nope'")
    assert node_error(tool_flow(server, "add", arguments={"a": 1.5, "b": 1}).run()) == (
        "tool 'add': argument 'a': 1.5 is not of type 'integer'")


def test_http_unreachable_server_is_retryable():
    import socket

    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    f = tool_flow({"url": f"http://127.0.0.1:{port}/mcp"}, "add",
                  policy={"retry": {"attempts": 2, "backoff": 0.01, "jitter": False}})
    result = f.run()
    assert node_error(result) == f"cannot connect to MCP server 'http://127.0.0.1:{port}/mcp'"
    assert result.nodes["call"].attempts == 2


def test_http_headers_take_secrets_by_reference():
    proc, url = start_toolserver(env={"MCP_TEST_TOKEN": "tok-123456"})
    try:
        server = {"url": url, "headers": {"Authorization": "Bearer ${NBFLOW_TEST_TOKEN}"}}
        good = Providers(Secrets(DictSecrets({"NBFLOW_TEST_TOKEN": "tok-123456"})))
        bad = Providers(Secrets(DictSecrets({"NBFLOW_TEST_TOKEN": "wrong-token"})))
        f = tool_flow(server, "echo", arguments={"text": "in"})
        assert f.run(providers=good).outputs == {"result": "in"}
        result = f.run(providers=bad)
        assert node_error(result) == (f"MCP server '{url}' answered HTTP 401 (check the url and the headers' "
                                      "secrets)")
    finally:
        stop_process(proc)


def test_http_server_crash_is_a_clean_retryable_error():
    proc, url = start_toolserver()
    try:
        f = tool_flow({"url": url}, "crash", policy={"retry": {"attempts": 2, "backoff": 0.01, "jitter": False}})
        result = f.run()
        first = result.nodes["call"].history[0]["error"]
        assert first == f"MCP server '{url}' closed the connection (RemoteProtocolError); it may have crashed"
        assert result.nodes["call"].attempts == 2  # retried: and the second attempt finds nobody listening
        assert node_error(result) == f"cannot connect to MCP server '{url}'"
    finally:
        stop_process(proc)
