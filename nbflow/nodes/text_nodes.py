"""Text nodes: template and join."""

from __future__ import annotations

import re
from typing import Any

from pydantic import Field

from nbflow.model.types import to_text
from nbflow.nodes.nodetype import NodeContext, NodeType, Params, Port

__all__ = ["Join", "Template", "placeholders"]

_PLACEHOLDER = re.compile(r"\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}")


def placeholders(template: str) -> list[str]:
    """Names of the ``{{name}}`` placeholders in order of first appearance."""
    seen: dict[str, None] = {}
    for m in _PLACEHOLDER.finditer(template):
        seen.setdefault(m.group(1), None)
    return list(seen)


class TemplateParams(Params):
    template: str = Field(default="", description="Text with {{name}} placeholders; each becomes an input.",
                          json_schema_extra={"widget": "textarea"})


class Template(NodeType[TemplateParams]):
    type = "template"
    title = "Template"
    category = "Text"
    description = "Fill {{name}} placeholders from inputs. Each placeholder becomes an input port."
    outputs = {"text": Port("text")}

    def input_ports(self) -> dict[str, Port]:
        return {name: Port("text", description=f"fills {{{{{name}}}}}")
                for name in placeholders(self.params.template)}

    async def run(self, inputs: dict[str, Any], ctx: NodeContext) -> dict[str, Any]:
        text = _PLACEHOLDER.sub(lambda m: to_text(inputs[m.group(1)]), self.params.template)
        return {"text": text}


class JoinParams(Params):
    count: int = Field(default=2, ge=1, le=32, description="How many inputs (in1..inN).")
    separator: str = Field(default="\n", description="Put between the pieces.")
    skip_empty: bool = Field(default=True, description="Leave out missing and empty pieces.")


class Join(NodeType[JoinParams]):
    type = "join"
    title = "Join"
    category = "Text"
    description = "Concatenate texts (and lists of texts) with a separator. Unwired inputs are left out."
    outputs = {"text": Port("text")}

    def input_ports(self) -> dict[str, Port]:
        return {f"in{i}": Port("any", required=False, description="text or list of texts")
                for i in range(1, self.params.count + 1)}

    async def run(self, inputs: dict[str, Any], ctx: NodeContext) -> dict[str, Any]:
        p = self.params
        pieces: list[str] = []
        for i in range(1, p.count + 1):
            v = inputs.get(f"in{i}")
            for item in (v if isinstance(v, list) else [v]):
                if item is None:
                    continue
                s = to_text(item)
                if s or not p.skip_empty:
                    pieces.append(s)
        return {"text": p.separator.join(pieces)}
