"""Costs: the shipped table, a user file, code overrides, and cost in records, --json and events."""

from __future__ import annotations

import json
from typing import Any

import pytest

from nbflow import NbflowError
from nbflow.cli import main as cli
from nbflow.providers.pricing import clear_prices, cost_of, price_for, set_price

from .helpers import llm_flow


@pytest.fixture(autouse=True)
def _clean_prices(monkeypatch: Any, tmp_path: Any) -> Any:
    monkeypatch.setenv("NBFLOW_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("NBFLOW_PRICES", raising=False)
    clear_prices()
    yield
    clear_prices()


def test_shipped_prices_by_exact_name_and_prefix() -> None:
    entry = {"provider": "openai", "model": "gpt-4o-mini", "input_tokens": 1_000_000, "output_tokens": 500_000}
    assert cost_of(entry) == pytest.approx(0.15 + 0.30)
    assert price_for("openai", "gpt-4o-2024-08-06") == price_for("openai", "gpt-4o")
    assert price_for("openai", "gpt-4o-mini-2024-07-18") == price_for("openai", "gpt-4o-mini")
    assert cost_of({"provider": "openai", "model": "dall-e-3", "images": 2}) == pytest.approx(0.08)
    assert cost_of({"provider": "runway", "model": "gen4_turbo", "video_seconds": 10}) == pytest.approx(0.5)
    assert cost_of({"provider": "offline", "model": "offline-chat", "input_tokens": 10**6}) == 0.0


def test_unknown_models_cost_nothing_and_say_so() -> None:
    assert price_for("ollama", "llama3.2") is None
    assert cost_of({"provider": "ollama", "model": "llama3.2", "input_tokens": 10**6}) == 0.0


def test_user_file_and_code_overrides(monkeypatch: Any, tmp_path: Any) -> None:
    prices = tmp_path / "prices.json"
    prices.write_text(json.dumps({"models": {"ollama": {"llama3.2": {"input": 0.1, "output": 0.2}},
                                             "openai": {"gpt-4o": {"output": 20}}}}))
    monkeypatch.setenv("NBFLOW_PRICES", str(prices))
    assert price_for("ollama", "llama3.2") == {"input": 0.1, "output": 0.2}
    assert price_for("openai", "gpt-4o") == {"input": 2.5, "output": 20.0}  # merged field by field
    set_price("openai", "gpt-4o", input=1.0)
    assert price_for("openai", "gpt-4o") == {"input": 1.0, "output": 20.0}
    with pytest.raises(NbflowError, match="unknown price field 'per_token'"):
        set_price("openai", "x", per_token=1)


def test_a_broken_price_file_is_a_clear_error(monkeypatch: Any, tmp_path: Any) -> None:
    bad = tmp_path / "prices.json"
    bad.write_text("{nope")
    monkeypatch.setenv("NBFLOW_PRICES", str(bad))
    with pytest.raises(NbflowError, match="price file is not valid JSON"):
        price_for("openai", "gpt-4o")


def test_cost_in_record_json_output_and_events(fake_env: Any, tmp_path: Any, capsys: Any) -> None:
    set_price("openai", "gpt-4o", input=1_000_000.0, output=2_000_000.0)  # $1 / $2 per token: easy sums
    fake_env.script("four words of reply", usage=(3, 5), times=1)
    events: list[Any] = []
    res = llm_flow("openai", "gpt-4o", stream=False).run(on_event=events.append)
    assert res.nodes["llm"].cost == pytest.approx(13.0) and res.cost == pytest.approx(13.0)
    assert res.to_json()["nodes"]["llm"]["usage"][0] == {"provider": "openai", "model": "gpt-4o",
                                                         "input_tokens": 3, "output_tokens": 5, "cost": 13.0}
    done = next(e for e in events if e.kind == "node_finished" and e.node_id == "llm")
    assert done.data["cost"] == 13.0 and done.data["usage"][0]["output_tokens"] == 5
    assert next(e for e in events if e.kind == "run_finished").data["cost"] == 13.0
    path = tmp_path / "f.json"
    llm_flow("openai", "gpt-4o", stream=False).save(path)
    fake_env.script("x", usage=(1, 1))
    assert cli(["run", str(path), "--json", "--no-store"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["cost"] == 3.0 and out["nodes"]["llm"]["cost"] == 3.0 and out["usage"]["input_tokens"] == 1
