"""Secrets: resolved at run time by reference, fail before any call, and never leak anywhere."""

from __future__ import annotations

import json
import logging
import secrets as pysecrets
from typing import Any

import pytest

from nbflow import Flow, ParamError, SecretError
from nbflow.cli import main as cli
from nbflow.providers.catalog import Providers
from nbflow.providers.http import pooled_client
from nbflow.providers.provider import ChatRequest, Message
from nbflow.providers.secrets import DictSecrets, Secrets

from .helpers import FAST_RETRY, chat_requests, llm_flow


def test_missing_key_fails_before_any_call_naming_node_and_variable(fake_env: Any, monkeypatch: Any) -> None:
    monkeypatch.delenv("ANTHROPIC_API_KEY")
    f = Flow("two")
    f.add("input.text", id="prompt", default="hi")
    f.add("llm", id="first", provider="openai", model="gpt-4o")
    f.add("llm", id="second", provider="anthropic", model="claude-sonnet-4")
    f.add("output", id="out")
    f.connect("prompt.value", "first.prompt")
    f.connect("first.text", "second.prompt")
    f.connect("second.text", "out.value")
    with pytest.raises(SecretError) as info:
        f.run()
    assert str(info.value).startswith("node 'second': secret ANTHROPIC_API_KEY is not set")
    assert fake_env.requests == []  # the openai node ran nothing: the check came first


def test_missing_key_in_a_fallback_node_is_caught_too(fake_env: Any, monkeypatch: Any) -> None:
    monkeypatch.delenv("GEMINI_API_KEY")
    f = llm_flow("openai")
    f.add("llm", id="backup", provider="gemini", model="gemini-2.5-flash")
    f.set_policy("llm", fallback=["backup"])
    with pytest.raises(SecretError, match="node 'backup': secret GEMINI_API_KEY \\(or GOOGLE_API_KEY\\)"):
        f.run()
    assert fake_env.requests == []


def test_cli_prints_one_line_and_exits_2(fake_env: Any, monkeypatch: Any, tmp_path: Any, capsys: Any) -> None:
    monkeypatch.delenv("OPENAI_API_KEY")
    path = tmp_path / "f.json"
    llm_flow("openai").save(path)
    assert cli(["run", str(path), "--no-store"]) == 2
    err = capsys.readouterr().err
    assert err == ("nbflow: error: node 'llm': secret OPENAI_API_KEY is not set (set the environment variable "
                   "OPENAI_API_KEY, add it to .env, or configure a secrets provider)\n")


def test_api_key_env_names_another_variable(fake_env: Any, monkeypatch: Any) -> None:
    monkeypatch.setenv("TEAM_OPENAI_KEY", "team-key-42")
    assert llm_flow("openai", api_key_env="TEAM_OPENAI_KEY").run().ok
    assert chat_requests(fake_env)[0].headers["authorization"] == "Bearer team-key-42"
    with pytest.raises(SecretError, match="secret OTHER_KEY_NAME is not set"):
        llm_flow("openai", api_key_env="OTHER_KEY_NAME").run()


def test_key_from_a_dotenv_file(fake_env: Any, monkeypatch: Any, tmp_path: Any) -> None:
    monkeypatch.delenv("OPENAI_API_KEY")
    monkeypatch.chdir(tmp_path)
    (tmp_path / ".env").write_text("OPENAI_API_KEY=from-dotenv-77\n")
    assert llm_flow("openai").run().ok
    assert chat_requests(fake_env)[0].headers["authorization"] == "Bearer from-dotenv-77"


class VaultLike:
    """A pluggable secrets store: anything with ``get(name) -> str | None``."""

    def __init__(self) -> None:
        self.asked: list[str] = []

    def get(self, name: str) -> str | None:
        self.asked.append(name)
        return {"ANTHROPIC_API_KEY": "from-vault-9"}.get(name)


def test_pluggable_secrets_store(fake_env: Any, monkeypatch: Any) -> None:
    monkeypatch.delenv("ANTHROPIC_API_KEY")
    vault = VaultLike()
    f = llm_flow("anthropic", "claude-sonnet-4")
    f.providers.secrets.add(vault)
    assert f.run().ok
    assert chat_requests(fake_env)[0].headers["x-api-key"] == "from-vault-9" and "ANTHROPIC_API_KEY" in vault.asked


def test_in_memory_secrets_and_literal_keys_refused() -> None:
    s = Secrets(DictSecrets({"OPENAI_API_KEY": "mem-key"}))
    assert Providers(s).get("openai", node_id="n").key_name == "OPENAI_API_KEY"  # type: ignore[attr-defined]
    with pytest.raises(ParamError, match="literal API key"):
        llm_flow("openai", system="use sk-abcdefghijklmnopqrstuvwxyz123456")
    with pytest.raises(ParamError):
        llm_flow("openai", api_key_env="sk-abcdefghijklmnopqrstuvwxyz123456")


def test_planted_keys_appear_nowhere(fake_env: Any, monkeypatch: Any, tmp_path: Any, capsys: Any,
                                     caplog: Any) -> None:
    shaped = "sk-proj-" + pysecrets.token_hex(20)  # looks like an OpenAI key
    plain = "planted" + pysecrets.token_hex(12)  # matches no key pattern: only value redaction catches it
    token = "tok" + pysecrets.token_hex(10)
    monkeypatch.setenv("OPENAI_API_KEY", shaped)
    monkeypatch.setenv("ANTHROPIC_API_KEY", plain)
    monkeypatch.setenv("SERVICE_TOKEN", token)
    planted = (shaped, plain, token)
    caplog.set_level(logging.DEBUG)
    texts: list[str] = []
    errors: list[BaseException] = []

    f = Flow("leaky")
    f.add("input.text", id="prompt", default="hello")
    f.add("llm", id="a", provider="openai", model="gpt-4o", policy={"retry": FAST_RETRY})
    f.add("llm", id="b", provider="anthropic", model="claude-sonnet-4", stream=False,
          policy={"retry": FAST_RETRY})
    f.add("http", id="h", url=f"{fake_env.url}/api/x", headers={"Authorization": "Bearer ${SERVICE_TOKEN}"},
          body={"q": "{{text}}"}, policy={"retry": FAST_RETRY})
    f.add("output", id="out")
    f.connect("prompt.value", "a.prompt")
    f.connect("a.text", "b.prompt")
    f.connect("b.text", "h.text")
    f.connect("h.text", "out.value")
    path = f.save(tmp_path / "leaky.json")
    texts.append(path.read_text())

    def run(**faults: Any) -> None:
        events: list[Any] = []
        res = f.run(on_event=events.append, cache=False)
        texts.append(json.dumps(res.to_json()))
        texts.extend(json.dumps(e.to_json()) for e in events)
        texts.append(repr(res))

    run()  # success
    fake_env.fault("status", status=429, provider="anthropic", retry_after_ms=1)
    run()  # a retry
    fake_env.fault("status", status=401, provider="openai",
                   message=f"Incorrect API key provided: {shaped}. You can find your key at ...")
    run()  # a failure whose server message echoes the key
    fake_env.fault("status", status=401, provider="anthropic", message=f"invalid x-api-key {plain}")
    run()
    assert cli(["run", str(path), "--json", "--no-store"]) == 0
    fake_env.fault("status", status=500, provider="http", times=3, message=f"bad token {token}")
    assert cli(["run", str(path), "--no-store"]) == 1  # human output and progress on stderr
    out = capsys.readouterr()
    texts += [out.out, out.err, caplog.text]

    providers = f.providers
    clients = [providers.get(n, node_id="x", **({"base_url": fake_env.url} if n == "http" else {}))
               for n in ("openai", "anthropic", "http")]
    texts += [repr(providers), repr(providers.secrets), *map(repr, clients), *(repr(c.limiter) for c in clients)]
    texts.append(repr(ChatRequest(model="m", messages=[Message("user", "x")])))

    import asyncio

    async def client_reprs() -> list[str]:
        c = pooled_client("openai", clients[0].base_url)  # type: ignore[attr-defined]
        req = c.build_request("POST", "https://x/v1/chat/completions", headers=clients[0].auth_headers())
        return [repr(c), repr(req), repr(fake_env.requests[0])]

    texts += asyncio.run(client_reprs())
    for exc_source in ("openai", "anthropic"):
        monkeypatch.setenv("OPENAI_BASE_URL", "http://127.0.0.1:9/v1")  # refused connection
        g = llm_flow(exc_source, {"openai": "gpt-4o", "anthropic": "claude-sonnet-4"}[exc_source], stream=False)
        texts.append(json.dumps(g.run().to_json()))
    try:
        llm_flow("openai", api_key_env=shaped).run()
    except Exception as exc:  # refused as a literal key, message must not echo it
        errors.append(exc)
    texts += [str(e) for e in errors]

    # The keys really were in play: the server received every one of them.
    seen = " ".join(" ".join(r.headers.values()) for r in fake_env.requests)
    assert all(k in seen for k in planted)
    blob = "\n".join(texts)
    leaked = [key[:6] + "..." for key in planted if key in blob]  # never print a whole key, even in tests
    assert leaked == []
    assert "[redacted]" in blob  # the echoed keys were scrubbed, not merely absent
