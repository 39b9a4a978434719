"""Cassettes: record every outbound exchange of a run, replay it with no network, never store a key."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from nbflow import Flow
from nbflow.exceptions import CassetteError
from nbflow.providers.cassette import Cassette, cassette, decode_body, encode_body
from nbflow.testing.fakeserver import env_for

PLANTED = "sk-planted" + "Q7" * 20


def _media_flow() -> Flow:
    """A streamed chat answer, an image (JSON with base64) and speech (binary mp3), in parallel."""
    f = Flow("media")
    f.add("input.text", id="p", default="a ceramic teapot")
    f.add("llm", id="copy", provider="openai", model="gpt-4o-mini", stream=True)
    f.add("image", id="img", provider="openai", model="dall-e-3")
    f.add("speech", id="say", provider="openai", model="tts-1")
    for name, src in (("copy", "copy.text"), ("pic", "img.image"), ("voice", "say.audio")):
        f.add("output", id=f"{name}_out", name=name)
        f.connect(src, f"{name}_out.value")
    f.connect("p.value", "copy.prompt")
    f.connect("p.value", "img.prompt")
    f.connect("p.value", "say.text")
    return f


def _unset_keys(monkeypatch: Any) -> None:
    for k in env_for("http://x"):
        if "KEY" in k or "SECRET" in k:
            monkeypatch.delenv(k, raising=False)


def test_record_then_replay_streaming_and_media_with_no_network(fake_env: Any, tmp_path: Path,
                                                                  monkeypatch: Any) -> None:
    path = tmp_path / "media.json"
    first = _media_flow().run(record=path)
    assert first.ok, first.error
    sent = len(fake_env.requests)
    assert sent == 3
    _unset_keys(monkeypatch)  # a replay needs no keys: nothing leaves the process
    partials: list[Any] = []
    again = _media_flow().run(replay=path, on_event=lambda e: partials.append(e) if e.kind == "partial" else None)
    assert again.ok, again.error
    assert len(fake_env.requests) == sent
    assert again.outputs["copy"] == first.outputs["copy"]
    assert again.outputs["pic"].data == first.outputs["pic"].data
    assert again.outputs["voice"].data == first.outputs["voice"].data and again.outputs["voice"].mime == "audio/mpeg"
    assert len(partials) > 1, "a replayed stream arrives event by event"
    assert again.cost == first.cost > 0
    doc = json.loads(path.read_text())
    kinds = {ex["request"]["url"].rsplit("/", 1)[-1]: next(k for k in ("json", "sse", "text", "base64")
                                                          if k in ex["response"]) for ex in doc["exchanges"]}
    assert kinds == {"completions": "sse", "generations": "json", "speech": "base64"}


@pytest.mark.parametrize("provider,model", [("anthropic", "claude-3-5-haiku-latest"), ("gemini", "gemini-2.0-flash")])
def test_other_streams_replay_the_same_text(fake_env: Any, tmp_path: Path, provider: str, model: str) -> None:
    f = Flow("s")
    f.add("input.text", id="p", default="hello there")
    f.add("llm", id="copy", provider=provider, model=model, stream=True)
    f.add("output", id="out")
    f.connect("p.value", "copy.prompt")
    f.connect("copy.text", "out.value")
    first = f.run(record=tmp_path / "c.json")
    assert first.ok, first.error
    n = len(fake_env.requests)
    again = f.run(replay=tmp_path / "c.json")
    assert again.ok and again.outputs == first.outputs and len(fake_env.requests) == n
    assert again.usage == first.usage


def test_submit_then_poll_replays_the_polls_in_order(fake_env: Any, tmp_path: Path) -> None:
    fake_env.video_polls = 3
    f = Flow("video")
    f.add("input.text", id="p", default="a teapot spinning")
    f.add("video", id="vid", provider="runway", model="gen4_turbo", poll_interval=0.01)
    f.add("output", id="out")
    f.connect("p.value", "vid.prompt")
    f.connect("vid.video", "out.value")
    path = tmp_path / "video.json"
    first = f.run(record=path)
    assert first.ok, first.error
    n = len(fake_env.requests)
    doc = json.loads(path.read_text())
    polls = [ex["response"]["json"]["status"] for ex in doc["exchanges"] if "/v1/tasks/" in ex["request"]["url"]]
    assert polls == ["PENDING", "RUNNING", "RUNNING", "SUCCEEDED"]
    events: list[Any] = []
    again = f.run(replay=path, on_event=events.append)
    assert again.ok, again.error
    assert again.outputs["out"].data == first.outputs["out"].data
    assert len(fake_env.requests) == n
    assert sum(1 for e in events if e.kind == "progress") == sum(1 for _ in polls[:-1]) + 1


def test_planted_keys_and_auth_headers_never_reach_the_cassette(fake_env: Any, tmp_path: Path,
                                                                monkeypatch: Any) -> None:
    for k in ("OPENAI_API_KEY", "ANTHROPIC_API_KEY"):
        monkeypatch.setenv(k, PLANTED + k)
    monkeypatch.setenv("WEATHER_TOKEN", "wt-" + PLANTED)
    pasted = "sk-pasted" + "Z9" * 20  # a key a user pasted into an input: it reaches the URL, bodies and the echo
    f = Flow("keys")
    f.add("input.text", id="p")
    f.add("llm", id="a", provider="openai", model="gpt-4o-mini")
    f.add("llm", id="b", provider="anthropic", model="claude-3-5-haiku-latest")
    f.add("http", id="h", url=f"{fake_env.url}/api/echo?api_key={{{{text}}}}&city=Oslo", method="POST",
          headers={"Authorization": "Bearer ${WEATHER_TOKEN}", "X-Client": "nbflow", "X-Custom": "${WEATHER_TOKEN}"},
          body={"q": "{{text}}"})
    for n in ("a", "b"):
        f.connect("p.value", f"{n}.prompt")
    f.connect("p.value", "h.text")
    path = tmp_path / "keys.json"
    res = f.run(record=path, p=f"hello {pasted}")
    assert res.ok, res.error
    sent = {r.provider: r for r in fake_env.requests}
    assert sent["openai"].headers["authorization"] == f"Bearer {PLANTED}OPENAI_API_KEY"
    assert sent["anthropic"].headers["x-api-key"] == f"{PLANTED}ANTHROPIC_API_KEY"
    assert sent["http"].headers["x-custom"] == "wt-" + PLANTED and pasted in sent["http"].path + str(sent["http"].query)
    text = path.read_text()
    assert PLANTED not in text and pasted not in text and "[redacted]" in text
    low = text.lower()
    for header in ('"authorization"', '"x-api-key"', '"x-custom"'):
        assert header not in low
    assert '"x-client": "nbflow"' in low and "anthropic-version" in low
    assert "?city=Oslo" in text, "a credential-like query param is left out of the URL"
    n = len(fake_env.requests)
    again = f.run(replay=path, p=f"hello {pasted}")
    assert again.ok, again.error
    assert len(fake_env.requests) == n


def test_unmatched_request_fails_its_node_and_says_what_differed(fake_env: Any, tmp_path: Path) -> None:
    f = _media_flow()
    path = tmp_path / "c.json"
    assert f.run(record=path).ok
    f.set_params("copy", model="gpt-4o")
    n = len(fake_env.requests)
    res = f.run(replay=path)
    assert res.status == "failed" and len(fake_env.requests) == n
    err = res.nodes["copy"].error
    assert err["type"] == "CassetteMiss" and err["attempts"] == 1
    assert res.error == ('node \'copy\': cassette c.json has no exchange for POST /v1/chat/completions: '
                         'body differs at $.model: recorded "gpt-4o-mini", sent "gpt-4o"')
    assert res.nodes["img"].status == "done"  # what does match still replays


def test_record_missing_adds_only_what_is_new(fake_env: Any, tmp_path: Path) -> None:
    f = _media_flow()
    path = tmp_path / "c.json"
    assert f.run(record=path).ok
    f.add("llm", id="extra", provider="openai", model="gpt-4o-mini", system="Be brief.")
    f.connect("p.value", "extra.prompt")
    n = len(fake_env.requests)
    res = f.run(replay=path, record_missing=True)
    assert res.ok, res.error
    assert len(fake_env.requests) == n + 1 and fake_env.requests[-1].json["messages"][0]["content"] == "Be brief."
    assert len(Cassette.load(path)) == 4
    assert f.run(replay=path).ok and len(fake_env.requests) == n + 1


def test_cassette_text_is_canonical_and_sorted(fake_env: Any, tmp_path: Path) -> None:
    path = tmp_path / "c.json"
    assert _media_flow().run(record=path).ok
    text = path.read_text()
    assert text.endswith("}\n") and '\n  "exchanges": [\n' in text
    assert Cassette.load(path).dumps() == text
    doc = json.loads(text)
    assert list(doc) == sorted(doc) and doc["nbflow_cassette"] == 1
    urls = [ex["request"]["url"].split("/v1")[1] for ex in doc["exchanges"]]
    assert urls == sorted(urls), "sorted by what they match on, whatever order the calls finished in"


def test_body_encodings_round_trip() -> None:
    sse = b'data: {"a": 1}\n\ndata: [DONE]\n\n'
    for content, ctype, kind in ((b'{"x": [1, 2.5, "t"]}', "application/json", "json"), (sse, "text/event-stream", "sse"),
                                 ("héllo".encode(), "text/plain; charset=utf-8", "text"),
                                 (b"\x89PNG\r\n\x1a\n\x00", "image/png", "base64")):
        body = encode_body(content, ctype)
        assert list(body) == [kind]
        got = b"".join(decode_body(body))
        assert (json.loads(got) == json.loads(content)) if kind == "json" else got == content
    assert len(decode_body(encode_body(sse, "text/event-stream"))) == 3


def test_bad_cassette_files_are_clear_errors(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text("{nope")
    with pytest.raises(CassetteError, match=r"bad.json: not valid JSON"):
        Cassette.load(bad)
    bad.write_text('{"nbflow_cassette": 9, "exchanges": []}')
    with pytest.raises(CassetteError, match="format 9 is not supported"):
        Cassette.load(bad)
    bad.write_text('{"nbflow_cassette": 1, "exchanges": [{"request": {}}]}')
    with pytest.raises(CassetteError, match="exchange 0: not a recorded exchange"):
        Cassette.load(bad)
    with pytest.raises(CassetteError, match="no such cassette"):
        Flow("x").run(replay=tmp_path / "missing.json")


def test_with_block_covers_every_run_inside(fake_env: Any, tmp_path: Path) -> None:
    path = tmp_path / "block.json"
    with cassette(path) as session:
        assert session.mode == "record"
        assert _media_flow().run().ok
    n = len(fake_env.requests)
    with cassette(path) as session:
        assert session.mode == "replay"
        assert _media_flow().run().ok
    assert len(fake_env.requests) == n and session.hits == 3


def test_replayed_media_url_input_needs_no_name_resolution(tmp_path: Path, monkeypatch: Any) -> None:
    """An image input given as an http URL is recorded, then replayed with its host unresolvable and its
    server gone: the replay is offline, so the URL guard resolves nothing and no request is made."""
    import socket

    from nbflow.providers import netguard

    from ..security.helpers import PNG, Recorder

    f = Flow("pic")
    f.add("input.image", id="photo")
    f.add("output", id="out")
    f.connect("photo.value", "out.value")
    path = tmp_path / "media-url.json"
    looked_up: list[str] = []

    async def local(host: str, port: int) -> list[str]:
        looked_up.append(host)
        return ["127.0.0.1"]

    with Recorder() as srv:
        url = f"http://media.test:{srv.port}/img.png"
        monkeypatch.setattr(netguard, "_resolve", local)
        with netguard.allowing(["media.test"]):
            first = f.run({"photo": url}, record=path)
        assert first.ok, first.error
        assert first.outputs["out"].data == PNG and looked_up == ["media.test"]
        (got,) = srv.requests
        assert got["headers"]["host"] == f"media.test:{srv.port}"
    sent = len(srv.requests)

    async def no_network(host: str, port: int) -> list[str]:
        raise socket.gaierror(socket.EAI_NONAME, "no network")

    monkeypatch.setattr(netguard, "_resolve", no_network)
    again = f.run({"photo": url}, replay=path)  # no allow-list either: nothing is fetched
    assert again.ok, again.error
    assert again.outputs["out"].data == PNG and again.outputs["out"].mime == "image/png"
    assert len(srv.requests) == sent == 1
    # the same run without the cassette is refused: the guard does check live fetches
    live = f.run({"photo": url})
    assert not live.ok and "cannot fetch" in str(live.error)
