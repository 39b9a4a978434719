"""The base class of node params: a pydantic model, strict about unknown names.

Apart from :mod:`nbflow.nodes.nodetype` so that ``import nbflow`` and the engine load pydantic only
when a node type with params is defined or used (``nodetype.Params`` still names these classes).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pydantic import BaseModel, ConfigDict

if TYPE_CHECKING:
    from pydantic.json_schema import JsonDict

__all__ = ["SECRET_REF", "NoParams", "Params", "secret_ref_fields"]

#: ``Field(json_schema_extra=SECRET_REF)`` marks a param that names a secret (never holds one): it says
#: where the key comes from, not what the node computes, so cache keys leave it out.
SECRET_REF: JsonDict = {"secret_ref": True}


class Params(BaseModel):
    """Base class for node params: strict about unknown names, so a typo is an error."""

    model_config = ConfigDict(extra="forbid", defer_build=True)  # schemas built on first use


class NoParams(Params):
    """For node types without params."""


_secret_refs: dict[type[BaseModel], frozenset[str] | None] = {}


def secret_ref_fields(cls: type[BaseModel]) -> frozenset[str] | None:
    """Names of ``cls``'s params that reference a secret (``api_key_env`` or marked with
    :data:`SECRET_REF`), or None when it has none; worked out once per class."""
    if cls not in _secret_refs:
        names = {name for name, info in cls.model_fields.items()
                 if name == "api_key_env" or (isinstance(info.json_schema_extra, dict)
                                              and info.json_schema_extra.get("secret_ref") is True)}
        _secret_refs[cls] = frozenset(names) or None
    return _secret_refs[cls]
