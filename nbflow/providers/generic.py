"""The generic HTTP request behind the ``http`` node: any JSON API, same errors, retries and limits.

Headers may reference secrets as ``${NAME}`` (resolved at run time, never stored); the body is a
JSON template whose ``{{name}}`` placeholders are filled from the node's inputs; a response path such
as ``data.items[0].name`` (a leading ``$.`` is allowed) picks the value to output.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from nbflow.providers.http import HttpProvider
from nbflow.providers.templating import extract_path, fill_template, secret_refs, substitute_secrets

__all__ = ["GenericHttpProvider", "HttpReply", "extract_path", "fill_template", "secret_refs",
           "substitute_secrets"]


@dataclass(frozen=True, slots=True)
class HttpReply:
    """A response: status, JSON body (None when not JSON) and text."""

    status: int
    json: Any
    text: str


class GenericHttpProvider(HttpProvider):
    """Plain HTTP requests to absolute URLs; rate-limited per host."""

    name = "http"

    async def request(self, method: str, url: str, *, headers: dict[str, str] | None = None,
                      json_body: Any = None) -> HttpReply:
        """Send one request; raises ProviderError on failure statuses and connection errors."""
        resp = await self.send(method.upper(), url, json=json_body, headers=headers, auth=False)
        try:
            data = resp.json() if resp.content else None
        except (ValueError, RecursionError):
            data = None
        return HttpReply(resp.status_code, data, resp.text)
