"""The canvas editor: the only package of nbflow that imports ipywidgets and ipycanvas.

``nbflow.Editor(flow)`` or ``flow.edit()`` shows it in JupyterLab 4, Notebook 7 and Voila.
The view model (:mod:`nbflow.widget.viewmodel`) is plain Python: importing it does not import
Jupyter, so it is tested (and usable) without a kernel.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from nbflow.lazy import lazy_attrs

if TYPE_CHECKING:
    from nbflow.widget.editor import Editor

__all__ = ["Editor"]

__getattr__, __dir__ = lazy_attrs(globals(), {".editor": ("Editor",)})  # ipywidgets, ipycanvas on first use
