"""The persistent cache: JSON and blobs on disk, shared by processes, LRU size cap, counted requests."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

import nbflow
from nbflow import DiskCache, Media
from nbflow.cli import main

from .helpers import calls, two_calls


def test_second_run_with_the_same_cache_folder_makes_no_call(fake_env: Any, tmp_path: Path) -> None:
    first = two_calls().run(cache=tmp_path / "c")
    assert first.ok and len(calls(fake_env)) == 2
    fake_env.reset()
    again = two_calls().run(cache=tmp_path / "c")  # a new Flow object: nothing shared in memory
    assert calls(fake_env) == []
    assert again.outputs == first.outputs
    assert {n: r.status for n, r in again.nodes.items()}["draft"] == "cached"


def test_editing_a_downstream_node_reruns_only_it_and_what_depends_on_it(fake_env: Any, tmp_path: Path) -> None:
    f = two_calls()
    f.run(cache=tmp_path)
    fake_env.reset()
    f.set_params("ask", template="Polish harder: {{text}}")
    r = f.run(cache=tmp_path)
    assert [p.startswith("Polish harder") for p in calls(fake_env)] == [True]  # draft not called again
    assert r.nodes["draft"].status == "cached" and r.nodes["polish"].status == "done"


def test_cache_stores_json_and_media_blobs_once_never_pickle(tmp_path: Path) -> None:
    c = DiskCache(tmp_path)
    img = Media.from_bytes(b"\x89PNG\r\n\x1a\n" + b"\0" * 100, mime="image/png")
    c.put("k1", {"image": img, "text": "hi"}, flow="f", node="a")
    c.put("k2", {"image": img}, flow="f", node="b")
    blobs = [p for p in (tmp_path / "blobs").rglob("*") if p.is_file()]
    assert len(blobs) == 1 and blobs[0].read_bytes() == img.data
    got = c.get("k1")
    assert got is not None and got["text"] == "hi" and got["image"].data == img.data
    raw = c._db.execute("SELECT value FROM entries WHERE key='k1'").fetchone()[0]
    assert json.loads(raw)["image"]["blob"] == img.sha256  # plain JSON pointing at the blob
    assert c.info().blobs == 1 and c.info().entries == 2


def test_values_that_are_not_json_are_not_cached(tmp_path: Path) -> None:
    c = DiskCache(tmp_path)
    c.put("k", {"x": {1, 2}})
    assert c.get("k") is None and c.info().entries == 0


def test_lru_eviction_keeps_the_cache_under_its_cap(tmp_path: Path) -> None:
    c = DiskCache(tmp_path, max_bytes=3000)
    for i in range(10):
        c.put(f"k{i}", {"text": "x" * 500})
        assert c.get("k0") is not None  # k0 stays recently used
    info = c.info()
    assert info.bytes <= 3000 and info.entries < 10
    assert c.get("k0") is not None and c.get("k1") is None  # least recently used went first
    assert c.get("k9") is not None


def test_evicted_media_blobs_are_deleted(tmp_path: Path) -> None:
    c = DiskCache(tmp_path, max_bytes=1500)
    c.put("a", {"f": Media(mime="application/octet-stream", data=b"a" * 1000)})
    c.put("b", {"f": Media(mime="application/octet-stream", data=b"b" * 1000)})
    files = [p for p in (tmp_path / "blobs").rglob("*") if p.is_file()]
    assert len(files) == 1 and files[0].read_bytes() == b"b" * 1000


def test_a_missing_blob_is_a_miss_not_an_error(tmp_path: Path) -> None:
    c = DiskCache(tmp_path)
    c.put("k", {"f": Media(mime="application/octet-stream", data=b"abc")})
    for p in (tmp_path / "blobs").rglob("*"):
        if p.is_file():
            p.unlink()
    assert c.get("k") is None and c.info().entries == 0


def test_hits_misses_and_clear_by_flow_and_node(tmp_path: Path) -> None:
    c = DiskCache(tmp_path)
    c.put("k1", {"t": 1}, flow="f", node="a")
    c.put("k2", {"t": 2}, flow="f", node="b")
    c.put("k3", {"t": 3}, flow="g", node="a")
    c.get("k1"), c.get("nope")
    info = c.info()
    assert (info.hits, info.misses, info.hit_rate) == (1, 1, 0.5)
    assert c.clear(flow="f", node="a") == 1
    assert c.clear(node="a") == 1 and c.get("k3") is None
    assert c.clear() == 1 and c.info().entries == 0


_WRITER = """
import sys
from nbflow import DiskCache
c = DiskCache(sys.argv[1])
for i in range(200):
    c.put(f"{sys.argv[2]}-{i}", {"text": "v" * 100, "i": i}, flow="p", node=sys.argv[2])
    assert c.get(f"{sys.argv[2]}-{i}")["i"] == i
"""


def test_two_processes_write_the_same_cache_at_once(tmp_path: Path) -> None:
    procs = [subprocess.Popen([sys.executable, "-c", _WRITER, str(tmp_path), name], stderr=subprocess.PIPE)
             for name in ("a", "b")]
    for p in procs:
        _, err = p.communicate(timeout=120)
        assert p.returncode == 0, err.decode()
    c = DiskCache(tmp_path)
    assert c.info().entries == 400
    assert c.get("a-199") == {"text": "v" * 100, "i": 199}


def test_use_cache_shares_one_disk_cache_between_flows(fake_env: Any, tmp_path: Path) -> None:
    try:
        nbflow.use_cache(tmp_path)
        two_calls().run()
        fake_env.reset()
        two_calls().run()
        assert calls(fake_env) == []
    finally:
        nbflow.use_cache(False)


def test_cli_run_cache_info_and_clear(fake_env: Any, tmp_path: Path, capsys: Any) -> None:
    path = tmp_path / "f.json"
    two_calls().save(path)
    d = str(tmp_path / "cache")
    assert main(["run", str(path), "--cache", d, "-q", "--no-store"]) == 0
    assert len(calls(fake_env)) == 2
    fake_env.reset()
    assert main(["run", str(path), "--cache", d, "-q", "--no-store"]) == 0
    assert calls(fake_env) == []
    capsys.readouterr()
    assert main(["cache", "info", "--dir", d, "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["entries"] >= 2 and info["hits"] >= 2 and 0 < info["hit_rate"] <= 1
    assert main(["cache", "clear", "--dir", d, "--flow", str(path), "--node", "draft"]) == 0
    assert "removed 1 cached output" in capsys.readouterr().out
    assert main(["run", str(path), "--cache", d, "-q", "--no-store"]) == 0
    assert len(calls(fake_env)) == 1  # only draft again; polish's key did not change


def test_cli_cache_default_folder_is_under_nbflow_home(fake_env: Any, tmp_path: Path, capsys: Any) -> None:
    path = tmp_path / "f.json"
    two_calls().save(path)
    assert main(["run", str(path), "--cache", "-q", "--no-store"]) == 0
    capsys.readouterr()
    assert main(["cache", "info"]) == 0
    out = capsys.readouterr().out
    import os

    assert str(Path(os.environ["NBFLOW_HOME"]) / "cache") in out and "hit rate" in out


def test_cache_without_action_is_a_usage_error(capsys: Any) -> None:
    assert main(["cache"]) == 2
    assert "say 'info' or 'clear'" in capsys.readouterr().err


@pytest.mark.parametrize("bad", [["cache", "clear", "--bogus"]])
def test_cache_bad_option_exits_2(bad: list[str]) -> None:
    with pytest.raises(SystemExit) as e:
        main(bad)
    assert e.value.code == 2
