"""Iterating on the canvas, in plain Python: pin marks, source badges, the narrowed-run menu items,
the missing upstream output of a run from here, and the cost label's text. No Jupyter import.

A pin mark says a node's output is pinned (saved in the flow file under ``"pins"``), in another
colour when the pin is stale (the node's params or anything upstream changed since pinning). A
source badge says where a node's output came from in its last run: a fresh call, the cache, or its
pin. Both are drawn by :mod:`nbflow.widget.marks`; the editor's buttons and keys live in
:mod:`nbflow.widget.editor_iterate`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from nbflow.exceptions import NbflowError
from nbflow.widget.popups import MenuItem

if TYPE_CHECKING:
    from nbflow.flow import Flow

__all__ = ["COMMANDS", "KEYS", "PIN_MARKS", "SOURCE_BADGES", "PinStates", "cost_text", "menu_items",
           "missing_upstream", "narrow_estimate"]

#: The tag above a pinned node, left: (text, colour) per pin state.
PIN_MARKS: dict[str, tuple[str, str]] = {
    "ok": ("PINNED", "#e67e22"),
    "stale": ("STALE PIN", "#c0392b"),
}

#: The tag above a node after a run, right: where its output came from, per run status.
SOURCE_BADGES: dict[str, tuple[str, str]] = {
    "done": ("fresh", "#27ae60"),
    "cached": ("cache", "#16a085"),
    "pinned": ("pin", "#b9770e"),
}

#: Editor commands a node's context menu can ask for, and the key of each.
COMMANDS: dict[str, str] = {"run_from": "H", "run_only": "O", "run_selected": "U", "toggle_pin": "P"}
#: Key (lower case, no modifier) -> editor command.
KEYS: dict[str, str] = {k.lower(): c for c, k in COMMANDS.items()}


class PinStates:
    """Node id -> ``"ok"`` or ``"stale"`` for every pin of a flow, recomputed only when it changed."""

    def __init__(self) -> None:
        self._key: tuple[int, int, int] | None = None
        self._states: dict[str, str] = {}

    def get(self, flow: Flow) -> dict[str, str]:
        if not flow.spec.pins:
            return {}
        key = (id(flow), flow.version, id(flow.spec))
        if key != self._key:
            try:
                self._states = flow.pin_states()
            except NbflowError:  # an invalid flow: staleness cannot be told, the pins are still there
                self._states = dict.fromkeys(flow.spec.pins, "ok")
            self._key = key
        return self._states


def menu_items(flow: Flow, selection: list[str]) -> list[MenuItem]:
    """The context menu's run and pin items for the selected nodes: they act on all of them, as the
    toolbar and the keys do (Unpin when every one is pinned, else Pin the others)."""
    n = len(selection)
    many = f" ({n} nodes)" if n > 1 else ""
    pinned = bool(selection) and all(nid in flow.spec.pins for nid in selection)
    pin = ("Unpin output" if pinned else "Pin output") + ("s" if n > 1 else "")
    return [MenuItem(f"Run from here{many}", "run_from", COMMANDS["run_from"]),
            MenuItem(f"Run only this{many}" if n == 1 else f"Run only these{many}", "run_only", COMMANDS["run_only"]),
            MenuItem(f"Run up to here{many}", "run_selected", COMMANDS["run_selected"]),
            MenuItem(f"{pin}{many}", "toggle_pin", COMMANDS["toggle_pin"])]


def missing_upstream(flow: Flow, states: dict[str, str]) -> tuple[str, str] | None:
    """``(node, message)`` for the first upstream output a narrowed run needs that is neither cached
    nor pinned (``states`` from ``flow.preview(...)``), or None when nothing is missing."""
    if "missing" not in states.values():
        return None
    plan = flow.validate()
    for pn in plan.nodes:
        if states.get(pn.id) != "run":
            continue
        for b in pn.bindings:
            src = plan.nodes[b.src]
            if states.get(src.id) == "missing":
                return src.id, (f"{pn.id}.{b.port} needs the output {src.id}.{b.src_port}, but it is neither "
                                f"cached nor pinned: run up to {src.id!r} first (U), or pin it (P)")
    node = next(n for n, s in states.items() if s == "missing")
    return node, f"the output of {node!r} is neither cached nor pinned: run up to it first (U), or pin it (P)"


def narrow_estimate(full: dict[str, Any], states: dict[str, str]) -> dict[str, Any]:
    """An estimate of the whole flow (``estimate_flow(flow)``, no plan) narrowed to one run: only the
    nodes that run count, those the cache or a pin serve are saved (``states`` from ``flow.preview``).

    The dry run depends on the flow alone, so the canvas makes it once per edit and narrows it here
    for each selection and cache state, which costs a pass over the priced nodes.
    """
    nodes = {n: v for n, v in full["nodes"].items() if states.get(n, "run") == "run"}
    saved: dict[str, Any] = {"cached": [], "pinned": [], "cost": 0.0}
    for n, v in full["nodes"].items():
        if states.get(n) in ("cached", "pinned"):
            saved[states[n]].append(n)
            saved["cost"] = round(saved["cost"] + v["cost"], 8)
    used = {f"{u['provider']}/{u['model']}" for v in nodes.values() for u in v["usage"]}
    out = {**full, "nodes": nodes, "cost": round(sum(v["cost"] for v in nodes.values()), 8), "saved": saved,
           "unpriced": [m for m in full["unpriced"] if m in used]}
    return out


def cost_text(what: str, est: dict[str, Any]) -> str:
    """One line for the toolbar: what ``what`` (e.g. ``Run all``) will cost, from an estimate made
    with a preview plan (:func:`nbflow.providers.estimate.estimate_flow`)."""
    calls = sum(len(n["usage"]) for n in est["nodes"].values())
    text = f"{what} ≈ ${est['cost']:.4f}, {calls} call{'s' if calls != 1 else ''}"
    saved = est.get("saved") or {}
    kept = [f"{len(saved[k])} {k}" for k in ("cached", "pinned") if saved.get(k)]
    if kept:
        text += f" ({', '.join(kept)}: ${saved['cost']:.4f} saved)"
    if est.get("unpriced"):
        text += f"; no price for {', '.join(est['unpriced'])}"
    if est.get("error") and not est["nodes"]:
        text += f"; the dry run stopped: {str(est['error']).splitlines()[0][:80]}"
    return text
