"""A third-party node type: upper-cases text and adds exclamation marks."""

from typing import Any

from pydantic import Field

from nbflow import NodeType, Params, Port


class ShoutParams(Params):
    marks: int = Field(default=1, ge=0, le=10)


class Shout(NodeType[ShoutParams]):
    type = "shout"
    title = "Shout"
    category = "Text"
    description = "Upper-case text and add exclamation marks."
    inputs = {"text": Port("text")}
    outputs = {"text": Port("text")}

    async def run(self, inputs: dict[str, Any], ctx: Any) -> dict[str, Any]:
        return {"text": inputs["text"].upper() + "!" * self.params.marks}
