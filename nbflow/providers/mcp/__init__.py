"""The MCP client side: reach a Model Context Protocol server, list and call its tools, map its content.

Used by the ``mcp.tool`` node; :mod:`nbflow.mcp` is the user-facing side (sync helpers, the tool picker
and serving flows as MCP tools). Importing this package does not import the ``mcp`` SDK.
"""
