"""The base class of node params: a pydantic model, strict about unknown names.

Apart from :mod:`nbflow.nodes.nodetype` so that ``import nbflow`` and the engine load pydantic only
when a node type with params is defined or used (``nodetype.Params`` still names these classes).
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

__all__ = ["NoParams", "Params"]


class Params(BaseModel):
    """Base class for node params: strict about unknown names, so a typo is an error."""

    model_config = ConfigDict(extra="forbid", defer_build=True)  # schemas built on first use


class NoParams(Params):
    """For node types without params."""
