"""A provider (or a proxy) echoes the key in a 200 body: no resolved secret, nor 8+ characters of one,
leaves a node: outputs, records, events, the run store, `nbflow run` (plain and --json), the server's
answers and SSE stream, batch results, logs."""

from __future__ import annotations

import json
import logging
from typing import Any

import httpx

from nbflow.batch import run_batch
from nbflow.cli import main
from nbflow.flow import Flow
from nbflow.model.values import Media
from nbflow.redaction import MIN_ECHO, install_log_redaction, remember_secret, scrub, scrub_text
from nbflow.server import ServeConfig, ServerThread, build_app
from nbflow.store import MemoryStore, SQLiteStore

from ..deploy.helpers import AUTH, TOKEN, parse_sse, write_flow

KEY = "sk-proj-PLANTEDq8W2mZ7xR4tY9cdef"
ECHO = f"Your key {KEY} is active; masked: sk-proj-PLAN****cdef; tail: ...{KEY[-10:]}"

ECHO_FLOW = {
    "nbflow": 1, "name": "echo",
    "nodes": [{"id": "prompt", "type": "input.text", "params": {"default": "hi"}},
              {"id": "llm", "type": "llm", "params": {"provider": "openai", "model": "gpt-4o-mini"}},
              {"id": "out", "type": "output"}],
    "edges": [{"from": "prompt.value", "to": "llm.prompt"}, {"from": "llm.text", "to": "out.value"}],
}


def _clean(text: str) -> bool:
    """No run of MIN_ECHO characters of the key is in ``text``."""
    return not any(KEY[i:i + MIN_ECHO] in text for i in range(len(KEY) - MIN_ECHO + 1))


def _echoing(fake_env: Any, monkeypatch: Any) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    fake_env.script(ECHO)


def test_scrub_text_catches_whole_and_partial_echoes():
    remember_secret(KEY)
    assert scrub_text(ECHO).count("[redacted]") == 3 and _clean(scrub_text(ECHO))
    assert scrub_text("sk-proj-PLA") == "[redacted]"  # 11 characters of the key
    assert scrub_text("sk-proj and cdef stay: too short to tell") == "sk-proj and cdef stay: too short to tell"
    value = {"a": [ECHO, 1, None], ECHO: Media(mime="text/plain", data=ECHO.encode(), meta={"k": ECHO})}
    out = scrub(value)
    assert _clean(json.dumps(out, default=lambda m: [m.data.decode(), m.meta]))
    same = {"a": ["nothing here"]}
    assert scrub(same) is same  # nothing to scrub: nothing copied


def test_python_run_outputs_records_and_events(fake_env, monkeypatch, tmp_path):
    _echoing(fake_env, monkeypatch)
    events: list[Any] = []
    flow = Flow.load(write_flow(tmp_path, ECHO_FLOW))
    res = flow.run(on_event=events.append, store=MemoryStore())
    assert res.ok and "is active" in res.outputs["out"]
    assert _clean(json.dumps(res.to_json())) and _clean(repr([e.data for e in events]))


def test_streamed_partials_are_scrubbed(fake_env, monkeypatch, tmp_path):
    _echoing(fake_env, monkeypatch)
    flow = Flow.load(write_flow(tmp_path, {**ECHO_FLOW, "nodes": [
        ECHO_FLOW["nodes"][0], {"id": "llm", "type": "llm", "params": {"provider": "openai", "model": "m",
                                                                        "stream": True}}, ECHO_FLOW["nodes"][2]]}))
    events: list[Any] = []
    res = flow.run(on_event=events.append)
    assert res.ok and any(e.kind == "partial" for e in events)
    assert _clean(json.dumps(res.to_json())) and _clean(repr([e.data for e in events]))


def test_cli_stdout_json_and_run_store(fake_env, monkeypatch, tmp_path, capsys):
    _echoing(fake_env, monkeypatch)
    flow = write_flow(tmp_path, ECHO_FLOW)
    assert main(["run", str(flow)]) == 0
    plain = capsys.readouterr()
    assert "is active" in plain.out and _clean(plain.out + plain.err)
    assert main(["run", str(flow), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert _clean(json.dumps(out))
    assert main(["runs", "show", out["run_id"], "--json"]) == 0
    shown = capsys.readouterr().out
    assert "is active" in shown and _clean(shown)


def test_batch_results(fake_env, monkeypatch, tmp_path):
    _echoing(fake_env, monkeypatch)
    flow = Flow.load(write_flow(tmp_path, ECHO_FLOW))
    inputs = tmp_path / "in.jsonl"
    inputs.write_text('{"prompt": "a"}\n{"prompt": "b"}\n', encoding="utf-8")
    summary = run_batch(flow, inputs, tmp_path / "out.jsonl", store=MemoryStore(), progress=False)
    assert summary.succeeded == 2
    text = (tmp_path / "out.jsonl").read_text()
    assert "is active" in text and _clean(text)


def test_server_answers_sse_and_store(fake_env, monkeypatch, tmp_path):
    _echoing(fake_env, monkeypatch)
    monkeypatch.setenv("NBFLOW_SERVE_TOKEN", TOKEN)
    store = SQLiteStore(tmp_path / "runs.db")
    app = build_app(ServeConfig.parse({"flows": [str(write_flow(tmp_path, ECHO_FLOW))]}), store=store)
    with ServerThread(app) as server, httpx.Client(base_url=server.url, headers=AUTH, timeout=30) as c:
        done = c.post("/flows/echo/runs?wait=true", json={}).json()
        assert done["status"] == "succeeded" and _clean(json.dumps(done))
        rid = done["run_id"]
        with c.stream("GET", f"/runs/{rid}/events") as s:
            body = s.read().decode()
        assert parse_sse(body) and _clean(body)
        assert _clean(c.get(f"/runs/{rid}").text) and _clean(c.get("/runs").text)
    assert _clean(json.dumps(store.load(rid).result.to_json()))
    store.close()


def test_http_node_echo_and_error_and_logs(monkeypatch, caplog):
    from .helpers import Recorder

    with Recorder(status=200, reply=json.dumps({"echo": ECHO}).encode()) as srv:
        flow = Flow("h")
        flow.add("http", id="call", url=f"{srv.url}/x", headers={"Authorization": "Bearer ${API}"})
        flow.add("output", id="out")
        flow.connect("call.text", "out.value")
        monkeypatch.setenv("API", KEY)
        res = flow.run()
        assert res.ok and _clean(json.dumps(res.to_json())) and "is active" in res.outputs["out"]
        srv.status, srv.reply = 500, ECHO.encode()
        failed = flow.run(cache=False)
        assert not failed.ok and _clean(json.dumps(failed.to_json()))
    install_log_redaction()
    with caplog.at_level(logging.INFO):
        logging.getLogger("nbflow.test").info("upstream said %s", ECHO)
        try:
            raise RuntimeError(ECHO)
        except RuntimeError:
            logging.getLogger("nbflow.test").exception("crashed")
    assert "upstream said" in caplog.text and _clean(caplog.text)


def test_scrubbing_a_large_clean_output_is_cheap():
    remember_secret(KEY)
    big = "lorem ipsum " * 100_000  # 1.2 MB without a secret
    assert scrub({"text": big})["text"] is big


def test_log_records_keep_their_arguments_unless_scrubbing_needs_them():
    """A formatter that unpacks ``record.args`` (uvicorn's access log) still works; a secret among the
    arguments is scrubbed argument by argument."""
    install_log_redaction()
    remember_secret("tok-9f8e7d6c5b4a3210")
    clean = logging.getLogRecordFactory()("uvicorn.access", logging.INFO, __file__, 1,
                                          '%s - "%s %s HTTP/%s" %d', ("127.0.0.1:5", "GET", "/healthz", "1.1", 200),
                                          None)
    assert clean.args == ("127.0.0.1:5", "GET", "/healthz", "1.1", 200)
    dirty = logging.getLogRecordFactory()("uvicorn.access", logging.INFO, __file__, 1,
                                          '%s - "%s %s HTTP/%s" %d',
                                          ("127.0.0.1:5", "GET", "/x?key=tok-9f8e7d6c5b4a3210", "1.1", 200), None)
    assert isinstance(dirty.args, tuple) and dirty.args[2] == "/x?key=[redacted]" and dirty.args[4] == 200
    assert "tok-9f8e7d6c5b4a3210" not in dirty.getMessage()
