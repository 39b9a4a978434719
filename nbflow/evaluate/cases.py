"""Test cases for a flow: inputs and expectations, one JSON object per line of a JSONL file.

A line::

    {"name": "teapot", "inputs": {"product": "a ceramic teapot"},
     "expect": [{"path": "$.outputs.copy", "op": "contains", "value": "teapot"},
                {"path": "$.outputs.data", "schema": {"type": "object", "required": ["title"]}},
                {"judge": "judge.json", "threshold": 0.7}]}

Expectations read the *run view* of a case: ``{"status", "outputs", "inputs", "cost", "duration",
"usage", "nodes": {id: {"status", "outputs", "cost", "error"}}}``. Three kinds:

* a **condition**, in the language of the ``branch`` and ``loop`` nodes (``path``, ``op``, ``value``,
  ``ignore_case``; see :mod:`nbflow.nodes.control_conditions`);
* a **schema** check: the value at ``path`` must validate against a JSON Schema;
* a **judge**: another flow (a file next to the cases file, or inline) whose graph inputs take the
  case's outputs and inputs by name, and whose output ``score`` (or its only output) must reach
  ``threshold`` (default 0.5). ``inputs`` maps judge inputs to paths in the run view when names differ.

A case passes when its run succeeded and every expectation holds. An expectation on ``$.status``
takes over the first rule, so a case may expect a run to fail.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from nbflow.exceptions import InputError
from nbflow.nodes.control_conditions import Condition
from nbflow.nodes.data_nodes import parse_path

__all__ = ["Case", "Expectation", "load_cases", "parse_case"]

_NUMBER = re.compile(r"-?\d+(?:\.\d+)?")


@dataclass(kw_only=True, slots=True)
class Expectation:
    """One check on a case's run view.

    Attributes:
        kind: ``condition``, ``schema`` or ``judge``.
        condition: the condition (kind ``condition``).
        path: where the schema applies (kind ``schema``).
        schema: the JSON Schema (kind ``schema``).
        judge: the judge flow, a path or an inline flow object (kind ``judge``).
        threshold: the score a judge must reach.
        inputs: judge input name -> path in the run view.
    """

    kind: str
    condition: Condition | None = None
    path: str = "$"
    schema: dict[str, Any] | None = None
    judge: Any = None
    threshold: float = 0.5
    inputs: dict[str, str] = field(default_factory=dict)
    base: Path | None = None
    """Directory a judge file path is relative to."""

    def describe(self) -> str:
        """Short text naming the expectation, for tables and JUnit."""
        if self.condition is not None:
            return self.condition.describe()
        if self.kind == "schema":
            return f"{self.path} matches schema"
        name = self.judge if isinstance(self.judge, str) else "inline judge"
        return f"judge {name} >= {self.threshold:g}"


@dataclass(kw_only=True, slots=True)
class Case:
    """A named set of graph inputs and what the run must show."""

    name: str
    inputs: dict[str, Any] = field(default_factory=dict)
    expect: list[Expectation] = field(default_factory=list)
    line: int = 0

    @property
    def checks_status(self) -> bool:
        """Whether an expectation looks at ``$.status`` (then a failed run may pass)."""
        return any(e.condition is not None and e.condition.path.replace(" ", "").startswith("$.status")
                   for e in self.expect)


def _expectation(obj: Any, where: str, base: Path | None) -> Expectation:
    if not isinstance(obj, dict):
        raise InputError(f"{where}: an expectation is an object, got {type(obj).__name__}")
    if "judge" in obj:
        extra = set(obj) - {"judge", "threshold", "inputs"}
        if extra:
            raise InputError(f"{where}: unknown judge field {sorted(extra)[0]!r} (judge, threshold, inputs)")
        judge = obj["judge"]
        if not isinstance(judge, (str, dict)):
            raise InputError(f"{where}: 'judge' is a flow file path or an inline flow object")
        threshold = obj.get("threshold", 0.5)
        if not isinstance(threshold, (int, float)) or isinstance(threshold, bool):
            raise InputError(f"{where}: 'threshold' must be a number")
        inputs = obj.get("inputs", {})
        if not isinstance(inputs, dict) or not all(isinstance(v, str) for v in inputs.values()):
            raise InputError(f"{where}: judge 'inputs' maps input names to paths like \"$.outputs.copy\"")
        for name, path in inputs.items():
            _check_path(path, f"{where}: judge input {name!r}")
        return Expectation(kind="judge", judge=judge, threshold=float(threshold), inputs=dict(inputs), base=base)
    if "schema" in obj:
        extra = set(obj) - {"schema", "path"}
        if extra:
            raise InputError(f"{where}: unknown schema check field {sorted(extra)[0]!r} (path, schema)")
        schema = obj["schema"]
        if not isinstance(schema, dict):
            raise InputError(f"{where}: 'schema' must be a JSON Schema object")
        from jsonschema import Draft202012Validator
        from jsonschema.exceptions import SchemaError

        try:
            Draft202012Validator.check_schema(schema)
        except SchemaError as exc:
            raise InputError(f"{where}: invalid JSON Schema: {exc.message}") from None
        path = str(obj.get("path", "$"))
        _check_path(path, where)
        return Expectation(kind="schema", path=path, schema=schema)
    try:
        cond = Condition.model_validate(obj)
    except ValidationError as exc:
        err = exc.errors()[0]
        loc = ".".join(str(x) for x in err["loc"]) or "expectation"
        raise InputError(f"{where}: {loc}: {err['msg']}") from None
    return Expectation(kind="condition", condition=cond)


def _check_path(path: str, where: str) -> None:
    try:
        parse_path(path)
    except ValueError as exc:
        raise InputError(f"{where}: {exc}") from None


def parse_case(obj: Any, *, where: str, base: Path | None = None, index: int = 0) -> Case:
    """One case from its JSON object; InputError naming ``where`` (file and line) when it is malformed."""
    if not isinstance(obj, dict):
        raise InputError(f"{where}: a case is a JSON object, got {type(obj).__name__}")
    extra = set(obj) - {"name", "inputs", "expect"}
    if extra:
        raise InputError(f"{where}: unknown field {sorted(extra)[0]!r} (a case has name, inputs, expect)")
    name = obj.get("name", f"case {index + 1}")
    if not isinstance(name, str) or not name.strip():
        raise InputError(f"{where}: 'name' must be a non-empty text")
    inputs = obj.get("inputs", {})
    if not isinstance(inputs, dict):
        raise InputError(f"{where}: 'inputs' must be an object of graph input name -> value")
    expect = obj.get("expect", [])
    if isinstance(expect, dict):
        expect = [expect]
    if not isinstance(expect, list):
        raise InputError(f"{where}: 'expect' must be a list of expectations")
    checks = [_expectation(e, f"{where}: expect[{i}]", base) for i, e in enumerate(expect)]
    return Case(name=name, inputs=dict(inputs), expect=checks, line=index + 1)


def load_cases(source: str | Path | list[Any]) -> list[Case]:
    """Cases from a JSONL file (blank lines and ``#`` comments skipped), a list of case objects, or
    :class:`Case` values (returned as they are).

    Raises:
        InputError: naming the file and line of the first malformed case, or a repeated name.
    """
    cases: list[Case] = []
    if isinstance(source, list):
        for i, obj in enumerate(source):
            cases.append(obj if isinstance(obj, Case) else parse_case(obj, where=f"case {i + 1}", index=i))
    else:
        path = Path(source)
        try:
            lines = path.read_text(encoding="utf-8").splitlines()
        except FileNotFoundError:
            raise InputError("no such file", source=str(path)) from None
        except (OSError, UnicodeDecodeError) as exc:
            raise InputError(f"cannot read: {exc}", source=str(path)) from None
        for lineno, line in enumerate(lines, 1):
            if not line.strip() or line.lstrip().startswith("#"):
                continue
            where = f"{path} line {lineno}"
            try:
                obj = json.loads(line)
            except json.JSONDecodeError as exc:
                raise InputError(f"{where}: not valid JSON: {exc.msg} at column {exc.colno}") from None
            case = parse_case(obj, where=where, base=path.parent, index=len(cases))
            case.line = lineno
            cases.append(case)
    seen: set[str] = set()
    for c in cases:
        if c.name in seen:
            raise InputError(f"case {c.name!r} (line {c.line}): the name is used twice; names must be unique")
        seen.add(c.name)
    if not cases:
        raise InputError(f"{source if not isinstance(source, list) else 'cases'}: no cases")
    return cases


def number_in(value: Any) -> float | None:
    """A judge's score: a number, or the first number in its text (``"Score: 8/10"`` gives 8)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, dict) and "score" in value:
        return number_in(value["score"])
    if isinstance(value, str):
        m = _NUMBER.search(value)
        return float(m.group()) if m else None
    return None
