"""How the editor reports a run that could not start: the message line over the canvas, and every
problem found before the run (each node and port or field at fault, with its fix).

The message line keeps one line's height (so the canvas never jumps when a message appears or wraps):
a long message ends in an ellipsis and shows in full as its tooltip; a pre-run failure lists each
problem in full, one line each, in the Params tab.
"""

from __future__ import annotations

import html

__all__ = ["message_html"]


def message_html(text: str, color: str) -> str:
    """The message line: one line, cut with an ellipsis when too long, the full text as its tooltip."""
    full = html.escape(text)
    return (f"<span class='nbflow-message' title='{full}' style='color:{color};display:block;"
            f"white-space:nowrap;overflow:hidden;text-overflow:ellipsis;line-height:22px'>{full}</span>")
