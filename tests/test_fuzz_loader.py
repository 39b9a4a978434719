"""Random mutations of valid flows of every format version: the loader, compiler and CLI only ever raise
NbflowError (one line, exit 2), and JSON that is not a flow is refused.

Seeds: the examples (the current format version) and one file of each older version kept in
``tests/data`` (``v0_*.json`` pre-release, ``v1_*.json``, ...), so every migration is fuzzed too.
"""

from __future__ import annotations

import copy
import json
import os
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import nbflow
from nbflow.cli import main
from nbflow.exceptions import NbflowError

ROOT = Path(__file__).resolve().parent.parent
SEEDS = [json.loads(p.read_text()) for p in sorted((ROOT / "examples").glob("*.json"))] + \
    [json.loads(p.read_text()) for p in sorted((ROOT / "tests" / "data").glob("v[0-9]*_*.json"))]


def test_seeds_cover_every_format_version() -> None:
    from nbflow.model.spec import FORMAT_VERSION

    assert {s.get("nbflow", 0) for s in SEEDS} == set(range(FORMAT_VERSION + 1))

JUNK = st.one_of(st.none(), st.booleans(), st.integers(-3, 10**12), st.floats(allow_nan=False),
                 st.text(max_size=12), st.lists(st.integers(), max_size=3),
                 st.dictionaries(st.text(max_size=5), st.integers(), max_size=3),
                 st.sampled_from(["llm", "input.text", "a.b", "x.value", "nodes", "", "sk-" + "a" * 30, "$.x["]))


def _paths(obj: Any, prefix: tuple = ()) -> list[tuple]:
    out = [prefix]
    if isinstance(obj, dict):
        for k, v in obj.items():
            out += _paths(v, (*prefix, k))
    elif isinstance(obj, list):
        for i, v in enumerate(obj):
            out += _paths(v, (*prefix, i))
    return out


@st.composite
def mutated_flows(draw: Any) -> Any:
    doc = copy.deepcopy(draw(st.sampled_from(SEEDS)))
    for _ in range(draw(st.integers(1, 4))):
        paths = _paths(doc)
        path = draw(st.sampled_from(paths))
        action = draw(st.sampled_from(["replace", "delete", "duplicate", "insert"]))
        if not path:
            doc = draw(JUNK) if action == "replace" else doc
            continue
        parent = doc
        for p in path[:-1]:
            parent = parent[p]
        key = path[-1]
        if action == "replace":
            parent[key] = draw(JUNK)
        elif action == "delete":
            del parent[key]
        elif action == "duplicate" and isinstance(parent, list):
            parent.append(copy.deepcopy(parent[key]))
        elif action == "insert" and isinstance(parent, dict):
            parent[draw(st.text(min_size=1, max_size=6))] = draw(JUNK)
        if not isinstance(doc, (dict, list)):
            break
    return doc


@settings(max_examples=int(os.environ.get("NBFLOW_FUZZ_EXAMPLES", "400")), deadline=None,
          derandomize=not os.environ.get("NBFLOW_FUZZ_RANDOM"), suppress_health_check=[HealthCheck.too_slow])
@given(mutated_flows())
def test_loader_and_compiler_raise_only_nbflow_errors(doc: Any) -> None:
    text = json.dumps(doc)
    try:
        flow = nbflow.Flow.loads(text, source="fuzz.json")
    except NbflowError as exc:
        assert "\n" not in str(exc)
        assert "sk-aaaa" not in str(exc)
        return
    # a valid flow must also save canonically and run or fail cleanly
    assert nbflow.Flow.loads(flow.dumps()).dumps() == flow.dumps()


@settings(max_examples=60, deadline=None, derandomize=not os.environ.get("NBFLOW_FUZZ_RANDOM"),
          suppress_health_check=[HealthCheck.too_slow,
                                                                  HealthCheck.function_scoped_fixture])
@given(mutated_flows(), st.binary(max_size=40))
def test_cli_gives_exit_codes_not_tracebacks(tmp_path_factory: Any, doc: Any, noise: bytes) -> None:
    d = tmp_path_factory.mktemp("fuzz")
    p = d / "flow.json"
    p.write_text(json.dumps(doc), encoding="utf-8")
    for path in (p,):
        code = main(["validate", str(path)])
        assert code in (0, 2)
    raw = d / "raw.json"
    raw.write_bytes(noise)
    assert main(["validate", str(raw)]) == 2


NOT_FLOWS = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False, allow_infinity=False),
              st.text(max_size=8)),
    lambda inner: st.one_of(st.lists(inner, max_size=3),
                            st.dictionaries(st.text(max_size=6).filter(lambda k: k != "nodes"), inner, max_size=3)),
    max_leaves=8)


@settings(max_examples=200, deadline=None, derandomize=not os.environ.get("NBFLOW_FUZZ_RANDOM"))
@given(NOT_FLOWS)
def test_json_that_is_not_a_flow_is_refused(doc: Any) -> None:
    try:
        nbflow.Flow.loads(json.dumps(doc), source="fuzz.json")
    except NbflowError as exc:
        assert "\n" not in str(exc)
        newer = isinstance(doc, dict) and isinstance(doc.get("nbflow"), int) and doc["nbflow"] > 1
        assert "not a flow" in str(exc) or newer or "format version" in str(exc), str(exc)
    else:
        raise AssertionError(f"{doc!r} was taken for a flow")
