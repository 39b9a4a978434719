"""How to reach an MCP server: a stdio command or a streamable HTTP URL, with secrets by reference.

The fields follow the shape MCP hosts already use in their config files (``command``, ``args``,
``env``, ``url``, ``headers``), so a server entry can be copied over. Header and environment values
may name secrets as ``${NAME}``; they are resolved at run time and never stored or logged.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from nbflow.exceptions import ParamError
from nbflow.providers.templating import secret_refs, substitute_secrets

__all__ = ["McpServerParams", "server_params"]


class McpServerParams(BaseModel):
    """Where an MCP server is: ``command`` (+ ``args``, ``env``, ``cwd``) for stdio, or ``url``.

    Strict about unknown names like node params (the ``mcp.tool`` node's params extend it).
    """

    model_config = ConfigDict(extra="forbid")

    command: str | None = Field(default=None, description="Executable that starts a stdio MCP server "
                                "(e.g. npx, uvx, python). Leave empty when using url.")
    args: list[str] = Field(default_factory=list, description="Arguments for command.")
    env: dict[str, str] = Field(default_factory=dict, description="Extra environment for the server process; "
                                "write secrets as ${ENV_NAME} (resolved at run time, never stored).")
    cwd: str | None = Field(default=None, description="Working directory of the server process.")
    url: str | None = Field(default=None, pattern=r"^https?://", description="Streamable HTTP endpoint of "
                            "the server, e.g. http://127.0.0.1:8000/mcp. Leave empty when using command.")
    headers: dict[str, str] = Field(default_factory=dict, description="HTTP headers for url; write secrets "
                                    "as ${ENV_NAME}, e.g. Authorization: Bearer ${MCP_TOKEN}.")
    timeout: float | None = Field(default=60.0, gt=0, description="Seconds to wait for the server to start, "
                                  "list its tools and answer the call.")

    def check_server(self) -> None:
        """Raise ValueError unless exactly one of ``command`` and ``url`` is set."""
        if self.command and self.url:
            raise ValueError("give either command (stdio) or url (streamable HTTP), not both")
        if not self.command and not self.url:
            raise ValueError("no MCP server: set command (stdio) or url (streamable HTTP)")
        self.check_headers()

    def check_headers(self) -> None:
        """Raise ValueError when a credential header holds a literal value instead of ``${NAME}``."""
        for name, value in self.headers.items():
            if "${" not in value and name.lower() in ("authorization", "x-api-key", "api-key"):
                raise ValueError(f"header {name!r}: name the secret as ${{ENV_NAME}}, never the value")

    def secret_names(self) -> list[str]:
        """Every secret named in ``headers`` and ``env``."""
        return [n for v in (*self.headers.values(), *self.env.values()) for n in secret_refs(v)]

    def resolved_headers(self, resolve: Callable[[str], str]) -> dict[str, str]:
        """``headers`` with ``${NAME}`` replaced by the secret values (for the outgoing request only)."""
        return {k: substitute_secrets(v, resolve) for k, v in self.headers.items()}

    def resolved_env(self, resolve: Callable[[str], str]) -> dict[str, str]:
        """``env`` with ``${NAME}`` replaced by the secret values (for the server process only)."""
        return {k: substitute_secrets(v, resolve) for k, v in self.env.items()}

    def label(self) -> str:
        """A short, secret-free name for messages: the URL, or the command and its first argument."""
        if self.url:
            return self.url
        parts = [self.command or "", *self.args[:1]]
        return " ".join(p for p in parts if p)


def server_params(server: Any) -> McpServerParams:
    """Accept a URL, a command line (list of strings), a dict of fields or :class:`McpServerParams`."""
    if isinstance(server, McpServerParams):
        params = server
    elif isinstance(server, str) and server.startswith(("http://", "https://")):
        params = McpServerParams(url=server)
    elif isinstance(server, (list, tuple)) and server and all(isinstance(s, str) for s in server):
        params = McpServerParams(command=server[0], args=list(server[1:]))
    elif isinstance(server, dict):
        from pydantic import ValidationError

        fields = set(McpServerParams.model_fields)
        try:
            params = McpServerParams.model_validate({k: v for k, v in server.items() if k in fields})
        except ValidationError as exc:
            err = exc.errors()[0]
            loc = ".".join(str(p) for p in err["loc"])
            raise ParamError(err["msg"], field=loc or None) from None
    else:
        raise ParamError(f"an MCP server is a URL, a command list or a dict of fields, not {type(server).__name__}")
    try:
        params.check_server()
    except ValueError as exc:
        raise ParamError(str(exc)) from None
    return params
