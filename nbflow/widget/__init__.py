"""The canvas editor: the only package of nbflow that imports ipywidgets and ipycanvas.

``nbflow.Editor(flow)`` or ``flow.edit()`` shows it in JupyterLab 4, Notebook 7 and Voila.
The view model (:mod:`nbflow.widget.viewmodel`) is plain Python and can be used without Jupyter.
"""

from nbflow.widget.editor import Editor

__all__ = ["Editor"]
