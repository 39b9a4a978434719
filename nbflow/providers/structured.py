"""Structured output: validate a model's JSON answer against a JSON Schema, and ask once for a repair.

Providers are asked for JSON by their native means (OpenAI ``response_format``, an Anthropic forced
tool, Gemini ``responseJsonSchema``), but a model or an OpenAI-compatible server may still answer
off-schema. The ``llm`` and ``vision`` nodes therefore validate every answer here; on failure they
send the model its answer and the validation error once, and fail the node if that is still wrong.
"""

from __future__ import annotations

import json
import re
from typing import Any

__all__ = ["REPAIR_PROMPT", "check_json", "check_schema", "parse_json_text"]

REPAIR_PROMPT = ("Your previous reply is not valid: {problem}. Reply again with only the JSON value, "
                 "matching the JSON Schema exactly, with no explanation and no code fence.")
_MAX_PROBLEM = 240
# Models like to wrap JSON in a Markdown fence even when told not to; that much is forgiven.
_FENCE = re.compile(r"^\s*```(?:json)?\s*\n(.*?)\n\s*```\s*$", re.S)


def parse_json_text(text: str) -> Any:
    """Parse JSON, tolerating a Markdown code fence around it."""
    m = _FENCE.match(text)
    return json.loads(m.group(1) if m else text)


def check_schema(schema: dict[str, Any]) -> None:
    """Raise ValueError (one line) when ``schema`` is not a valid JSON Schema."""
    # jsonschema is imported here, not at module level: it takes ~1 s to import (its format checkers
    # build grammars), and only flows that use structured output should pay that.
    from jsonschema import exceptions as js_exceptions
    from jsonschema import validators

    cls = validators.validator_for(schema)
    try:
        cls.check_schema(schema)
    except js_exceptions.SchemaError as exc:
        where = "/".join(str(p) for p in exc.absolute_path)
        raise ValueError(f"json_schema is not a valid JSON Schema{f' at {where}' if where else ''}: "
                         f"{exc.message[:_MAX_PROBLEM]}") from None


def check_json(text: str, schema: dict[str, Any]) -> tuple[Any, str | None]:
    """Parse ``text`` as JSON (a code fence is tolerated) and validate it.

    Returns:
        ``(value, None)`` when valid, else ``(None, problem)`` with a one-line description.
    """
    try:
        value = parse_json_text(text)
    except json.JSONDecodeError as exc:
        return None, f"not valid JSON ({exc.msg} at line {exc.lineno} column {exc.colno})"
    from jsonschema import exceptions as js_exceptions
    from jsonschema import validators

    validator = validators.validator_for(schema)(schema)
    error = js_exceptions.best_match(validator.iter_errors(value))
    if error is None:
        return value, None
    where = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in error.absolute_path) or "the value"
    msg = " ".join(error.message.split())
    return None, f"{where.lstrip('.')}: {msg}"[:_MAX_PROBLEM]
