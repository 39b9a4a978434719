"""One way to turn a pydantic validation failure into nbflow's one-line error naming the field."""

from __future__ import annotations

from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from nbflow.exceptions import ConfigError

__all__ = ["first_error", "parse_config"]

M = TypeVar("M", bound=BaseModel)


def first_error(exc: ValidationError) -> tuple[str | None, str]:
    """``(dotted location or None, message)`` of the first error, without pydantic's "Value error, "."""
    err = exc.errors()[0]
    loc = ".".join(str(p) for p in err["loc"]) or None
    return loc, str(err["msg"]).removeprefix("Value error, ")


def parse_config(model: type[M], obj: Any, *, where: str, whole: str) -> M:
    """Validate ``obj`` as ``model``; a ConfigError ``"<where>: field '<loc>': <message>"`` when it fails.

    ``whole`` names the object itself, for an error about it rather than one of its fields.
    """
    try:
        return model.model_validate(obj)
    except ValidationError as exc:
        loc, msg = first_error(exc)
        raise ConfigError(f"{where}: field {loc or whole!r}: {msg}") from None
