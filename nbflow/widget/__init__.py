"""The canvas editor: the only package of nbflow that imports ipywidgets and ipycanvas.

``nbflow.Editor(flow)`` or ``flow.edit()`` shows it in JupyterLab 4, Notebook 7 and Voila.
The view model (:mod:`nbflow.widget.viewmodel`) is plain Python: importing it does not import
Jupyter, so it is tested (and usable) without a kernel.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from nbflow.widget.editor import Editor

__all__ = ["Editor"]


def __getattr__(name: str) -> Any:
    if name == "Editor":  # loads ipywidgets and ipycanvas on first use only
        from nbflow.widget.editor import Editor

        return Editor
    raise AttributeError(f"module 'nbflow.widget' has no attribute {name!r}")
