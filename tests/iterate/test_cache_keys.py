"""What enters a cache key: params that say what a node computes, never the name of a secret."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from nbflow.nodes.params import secret_ref_fields
from nbflow.nodes.registry import registry

from .helpers import calls, two_calls


def test_the_name_of_the_key_variable_does_not_change_the_cache_key(
        fake_env: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TEAM_A_KEY", "sk-fake-team-a")
    monkeypatch.setenv("TEAM_B_KEY", "sk-fake-team-b")
    f = two_calls()
    for node in ("draft", "polish"):
        f.set_params(node, api_key_env="TEAM_A_KEY")
    first = f.run(cache=tmp_path)
    assert first.ok and len(calls(fake_env)) == 2
    fake_env.reset()
    for node in ("draft", "polish"):
        f.set_params(node, api_key_env="TEAM_B_KEY")
    again = f.run(cache=tmp_path)
    assert calls(fake_env) == []  # another variable holding a key: the same computation, served from the cache
    assert again.nodes["draft"].status == "cached" and again.outputs == first.outputs


def test_another_base_url_is_another_key(fake_env: Any, tmp_path: Path) -> None:
    f = two_calls()
    f.run(cache=tmp_path)
    fake_env.reset()
    f.set_params("polish", base_url=f"{fake_env.url}/v1")  # same server, but a different URL might not be
    r = f.run(cache=tmp_path)
    assert r.nodes["draft"].status == "cached" and r.nodes["polish"].status == "done"
    assert len(calls(fake_env)) == 1


def test_secret_reference_params_are_found_by_name_and_by_marker() -> None:
    assert secret_ref_fields(registry.get("llm").Params) == frozenset({"api_key_env"})
    assert secret_ref_fields(registry.get("template").Params) is None
