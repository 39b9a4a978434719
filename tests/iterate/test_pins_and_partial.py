"""Pins (Python, file, stale, --use-pins, validate) and run from here / only / up to here."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

import nbflow
from nbflow import DiskCache, FlowError, Media
from nbflow.cli import main

from .helpers import calls, two_calls


def test_pin_last_output_is_saved_under_pins_and_used_only_when_asked(fake_env: Any, tmp_path: Path) -> None:
    f = two_calls()
    first = f.run(cache=False)
    f.pin("draft")
    path = f.save(tmp_path / "f.json")
    data = json.loads(path.read_text())
    assert data["pins"]["draft"]["outputs"] == {"text": first.nodes["draft"].outputs["text"]}
    assert list(data).index("pins") > list(data).index("edges")
    g = nbflow.load(path)
    fake_env.reset()
    g.run(cache=False)
    assert len(calls(fake_env)) == 2  # headless runs ignore pins unless asked
    fake_env.reset()
    r = g.run(cache=False, use_pins=True)
    assert len(calls(fake_env)) == 1 and r.nodes["draft"].status == "pinned"
    assert "prompt" not in r.nodes and "topic" not in r.nodes  # upstream of a pin is not run


def test_pin_an_edited_value_changes_downstream_keys(fake_env: Any) -> None:
    f = two_calls()
    f.run()
    f.pin("draft", "A hand-written draft.")
    fake_env.reset()
    r = f.run(use_pins=True)
    assert calls(fake_env) == ["Polish: A hand-written draft."]  # not served from the real run's cache
    assert r.nodes["polish"].status == "done"


def test_pin_is_stale_when_its_params_or_upstream_change(tmp_path: Path, capsys: Any) -> None:
    f = two_calls()
    f.pin("draft", "fixed")
    f.pin("polish", "done")
    assert f.pin_states() == {"draft": "ok", "polish": "ok"}
    f.set_params("prompt", template="Write a poem about {{topic}}.")
    assert f.pin_states() == {"draft": "stale", "polish": "stale"}
    f.move("draft", 5, 5)  # layout is not semantics
    path = f.save(tmp_path / "f.json")
    assert main(["validate", str(path)]) == 0
    out = capsys.readouterr().out
    assert "pins: 2 (2 stale)" in out and "draft (text)  STALE" in out


def test_pin_before_any_run_or_after_an_edit_is_refused(fake_env: Any) -> None:
    f = two_calls()
    with pytest.raises(FlowError, match="'draft'.*no output to pin yet"):
        f.pin("draft")
    f.run()
    f.set_params("prompt", template="Other {{topic}}.")
    with pytest.raises(FlowError, match="changed since its last run"):
        f.pin("draft")
    with pytest.raises(FlowError, match="cannot pin output 'nope'"):
        f.pin("draft", {"nope": 1})


def test_a_pin_of_an_unknown_node_in_a_file_is_a_clear_error(tmp_path: Path, capsys: Any) -> None:
    f = two_calls()
    data = json.loads(f.dumps())
    data["pins"] = {"ghost": {"key": "x", "outputs": {"text": "t"}}}
    p = tmp_path / "f.json"
    p.write_text(json.dumps(data))
    assert main(["validate", str(p)]) == 2
    err = capsys.readouterr().err
    assert "pins: no node 'ghost'" in err and "Traceback" not in err


def test_media_pins_inline_or_by_cache_reference(tmp_path: Path) -> None:
    img = Media.from_bytes(b"\x89PNG\r\n\x1a\n" + b"\1" * 64, mime="image/png")
    f = nbflow.Flow("media")
    f.add("input.image", id="pic", required=False)
    f.add("output", id="out")
    f.connect("pic.value", "out.value")
    f.pin("pic", img)
    assert "data_base64" in f.pins["pic"]["value"]
    r = f.run(use_pins=True, cache=False)
    assert r.outputs["out"].data == img.data
    cache = DiskCache(tmp_path / "c")
    f.pin("pic", img, media="cache", cache=cache)
    assert f.pins["pic"]["value"]["blob"] == img.sha256 and "data_base64" not in f.pins["pic"]["value"]
    assert f.run(use_pins=True, cache=cache).outputs["out"].data == img.data
    with pytest.raises(FlowError, match="pinned media .* is not in the cache"):
        f.run(use_pins=True, cache=DiskCache(tmp_path / "other"))
    with pytest.raises(FlowError, match="need a disk cache"):
        f.pin("pic", img, media="cache", cache=False)


def test_pins_survive_rename_and_go_with_remove() -> None:
    f = two_calls()
    f.pin("draft", "x")
    f.rename("draft", "first")
    assert list(f.pins) == ["first"]
    f.remove("first")
    assert f.pins == {}


def test_run_from_here_uses_cached_upstream_and_reruns_downstream(fake_env: Any, tmp_path: Path) -> None:
    f = two_calls()
    f.run(cache=tmp_path)
    fake_env.reset()
    r = f.run(cache=tmp_path, start="ask")
    assert len(calls(fake_env)) == 1  # polish re-runs fresh; draft comes from the cache
    assert r.nodes["draft"].status == "cached" and r.nodes["polish"].status == "done"
    assert set(r.nodes) == {"draft", "ask", "polish", "out"}
    assert r.outputs["out"]


def test_run_only_one_node(fake_env: Any) -> None:
    f = two_calls()
    f.run()
    fake_env.reset()
    r = f.run(only=["draft"])
    assert len(calls(fake_env)) == 1 and set(r.nodes) == {"prompt", "draft"}
    assert r.nodes["draft"].status == "done" and r.nodes["prompt"].status == "cached"


def test_run_up_to_here(fake_env: Any) -> None:
    r = two_calls().run(targets="draft", cache=False)
    assert len(calls(fake_env)) == 1 and set(r.nodes) == {"topic", "prompt", "draft"}


def test_run_from_here_names_the_missing_upstream_output(fake_env: Any) -> None:
    f = two_calls()
    with pytest.raises(FlowError) as e:
        f.run(start="polish")
    assert "ask.text" in str(e.value) and "neither cached nor pinned" in str(e.value)
    assert calls(fake_env) == []


def test_run_from_here_uses_a_pin_upstream(fake_env: Any) -> None:
    f = two_calls()
    f.pin("draft", "pinned draft")
    r = f.run(start="ask", use_pins=True, cache=False)
    assert calls(fake_env) == ["Polish: pinned draft"] and r.nodes["draft"].status == "pinned"


def test_preview_and_estimate_leave_out_cached_and_pinned_nodes(fake_env: Any, tmp_path: Path) -> None:
    f = two_calls()
    assert f.preview(cache=tmp_path)["draft"] == "run"
    f.run(cache=tmp_path, targets="draft")
    f.pin("polish", "p")
    pv = f.preview(cache=tmp_path, use_pins=True)
    assert (pv["draft"], pv["polish"], pv["prompt"]) == ("idle", "pinned", "idle")
    assert f.preview(cache=tmp_path)["draft"] == "cached"
    assert f.preview(cache=False, start="polish")["ask"] == "missing"
    from nbflow.providers.estimate import estimate_flow

    full = estimate_flow(f)
    part = estimate_flow(f, plan=f.preview(cache=tmp_path))
    assert set(full["nodes"]) == {"draft", "polish"} and set(part["nodes"]) == {"polish"}
    assert part["saved"]["cached"] == ["draft"] and part["cost"] < full["cost"]


def test_cli_from_only_to_and_use_pins(fake_env: Any, tmp_path: Path, capsys: Any) -> None:
    path = tmp_path / "f.json"
    f = two_calls()
    f.pin("draft", "pinned")
    f.save(path)
    d = str(tmp_path / "c")
    assert main(["run", str(path), "--cache", d, "--no-store", "-q"]) == 0
    fake_env.reset()
    capsys.readouterr()
    assert main(["run", str(path), "--cache", d, "--no-store", "--from", "polish", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["nodes"]["ask"]["status"] == "cached" and len(calls(fake_env)) == 1
    fake_env.reset()
    assert main(["run", str(path), "--no-store", "--use-pins", "--from", "ask", "-q"]) == 0
    assert calls(fake_env) == ["Polish: pinned"]
    fake_env.reset()
    assert main(["run", str(path), "--no-store", "--cache", d, "--only", "polish", "-q"]) == 0
    assert len(calls(fake_env)) == 1
    fake_env.reset()
    fake_env.reset()
    assert main(["run", str(path), "--no-store", "--from", "polish"]) == 2
    err = capsys.readouterr().err
    assert "needs the output ask.text" in err and "Traceback" not in err
    assert main(["run", str(path), "--no-store", "--only", "ghost"]) == 2
    assert "no node 'ghost'" in capsys.readouterr().err
    assert main(["run", str(path), "--no-store", "--to", "draft", "-q"]) == 0
    assert len(calls(fake_env)) == 1
    assert main(["run", str(path), "--estimate", "--use-pins"]) == 0
    out = capsys.readouterr().out
    assert "not called: 1 pinned (draft)" in out


def test_pinning_a_last_output_keeps_what_is_cached_downstream(fake_env: Any, tmp_path: Path) -> None:
    f = two_calls()
    f.run(cache=tmp_path)
    f.pin("draft")
    assert f.spec.pins["draft"].output_key == f.last_result.nodes["draft"].key  # type: ignore[union-attr]
    fake_env.reset()
    r = f.run(cache=tmp_path, use_pins=True)
    assert calls(fake_env) == [] and r.nodes["polish"].status == "cached"
    r = f.run(cache=tmp_path, use_pins=True, start="polish")
    assert len(calls(fake_env)) == 1 and r.nodes["ask"].status == "cached"
    g = nbflow.Flow.loads(f.dumps())
    assert g.spec.pins["draft"].output_key == f.spec.pins["draft"].output_key  # saved in the file
