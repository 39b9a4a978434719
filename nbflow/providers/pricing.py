"""Cost of a provider call from its usage and a price table.

Three layers, later ones winning field by field:

1. the table shipped with nbflow (``nbflow/data/prices.json``);
2. a user file: ``$NBFLOW_PRICES``, else ``$NBFLOW_HOME/prices.json`` (``~/.nbflow/prices.json``),
   with the same shape (``{"models": {"openai": {"gpt-4o": {"input": 2.5, "output": 10}}}}``);
3. overrides in code: :func:`set_price`.

Units: ``input``, ``output`` and ``cached_input`` per million tokens; ``image`` per image;
``audio_second`` and ``video_second`` per second; ``characters`` per million characters. A model
is found by exact name, else by the longest listed prefix (``gpt-4o-2024-08-06`` -> ``gpt-4o``).
A model with no price costs 0 (:func:`price_for` returns None, so tools can say it is unknown).
"""

from __future__ import annotations

import json
import os
import threading
from pathlib import Path
from typing import Any

from nbflow.exceptions import NbflowError

__all__ = ["PRICE_FIELDS", "clear_prices", "cost_of", "price_for", "set_price", "user_prices_path"]

#: Priced quantities: price field -> (usage field, units the price is quoted per).
PRICE_FIELDS: dict[str, tuple[str, float]] = {
    "input": ("input_tokens", 1e6),
    "output": ("output_tokens", 1e6),
    "cached_input": ("cached_input_tokens", 1e6),
    "image": ("images", 1.0),
    "audio_second": ("audio_seconds", 1.0),
    "video_second": ("video_seconds", 1.0),
    "characters": ("characters", 1e6),
}

_LOCK = threading.Lock()
_CODE: dict[str, dict[str, dict[str, float]]] = {}
_CACHE: dict[str, Any] = {"key": None, "table": None}


def user_prices_path() -> Path:
    """Where the user's price file is read from."""
    if os.environ.get("NBFLOW_PRICES"):
        return Path(os.environ["NBFLOW_PRICES"]).expanduser()
    home = Path(os.environ.get("NBFLOW_HOME") or Path.home() / ".nbflow").expanduser()
    return home / "prices.json"


def _read(text: str, where: str) -> dict[str, dict[str, dict[str, float]]]:
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise NbflowError(f"{where}: price file is not valid JSON: {exc}") from None
    models = data.get("models") if isinstance(data, dict) else None
    if not isinstance(models, dict):
        raise NbflowError(f"{where}: price file needs a 'models' object of provider -> model -> prices")
    out: dict[str, dict[str, dict[str, float]]] = {}
    for provider, table in models.items():
        for model, prices in (table or {}).items():
            bad = sorted(set(prices) - set(PRICE_FIELDS))
            if bad:
                raise NbflowError(f"{where}: {provider}/{model}: unknown price field {bad[0]!r} "
                                  f"(known: {', '.join(PRICE_FIELDS)})")
            out.setdefault(provider, {})[model] = {k: float(v) for k, v in prices.items()}
    return out


Table = dict[str, dict[str, dict[str, float]]]


def _merge(into: Table, more: Table) -> None:
    for provider, table in more.items():
        for model, prices in table.items():
            into.setdefault(provider, {}).setdefault(model, {}).update(prices)


def _table() -> dict[str, dict[str, dict[str, float]]]:
    path = user_prices_path()
    try:
        mtime = path.stat().st_mtime
    except OSError:
        mtime = None
    key = (str(path), mtime, _CACHE.get("code_version"))
    with _LOCK:
        if _CACHE["key"] == key and _CACHE["table"] is not None:
            return _CACHE["table"]
        from importlib import resources  # pulls in tempfile/shutil/zipfile: only when prices are read

        text = resources.files("nbflow").joinpath("data/prices.json").read_text(encoding="utf-8")
        table = _read(text, "nbflow/data/prices.json")
        if mtime is not None:
            _merge(table, _read(path.read_text(encoding="utf-8"), str(path)))
        _merge(table, _CODE)
        _CACHE["key"], _CACHE["table"] = key, table
        return table


def set_price(provider: str, model: str, **prices: float) -> None:
    """Override prices in code, e.g. ``set_price("openai", "gpt-4o", input=2.5, output=10)``."""
    bad = sorted(set(prices) - set(PRICE_FIELDS))
    if bad:
        raise NbflowError(f"unknown price field {bad[0]!r} (known: {', '.join(PRICE_FIELDS)})")
    with _LOCK:
        _CODE.setdefault(provider, {}).setdefault(model, {}).update({k: float(v) for k, v in prices.items()})
        _CACHE["code_version"] = (_CACHE.get("code_version") or 0) + 1


def clear_prices() -> None:
    """Drop the code overrides (tests)."""
    with _LOCK:
        _CODE.clear()
        _CACHE["code_version"] = (_CACHE.get("code_version") or 0) + 1


def price_for(provider: str, model: str) -> dict[str, float] | None:
    """The prices of ``model`` at ``provider``, or None when the table has none."""
    table = _table().get(provider)
    if not table:
        return None
    if model in table:
        return table[model]
    best = max((m for m in table if model.startswith(m)), key=len, default=None)
    return table[best] if best is not None else None


def cost_of(entry: dict[str, Any]) -> float:
    """USD cost of one usage entry (``{"provider", "model", "input_tokens", ...}``); 0 when unpriced."""
    prices = price_for(str(entry.get("provider", "")), str(entry.get("model", "")))
    if not prices:
        return 0.0
    total = 0.0
    for name, (usage_field, per) in PRICE_FIELDS.items():
        if name in prices and entry.get(usage_field):
            total += float(entry[usage_field]) * prices[name] / per
    return total
