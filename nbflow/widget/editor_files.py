"""Export, import, upload and templates of the canvas editor (a mixin of :class:`~nbflow.widget.Editor`)."""

from __future__ import annotations

import base64
import html
from pathlib import Path
from typing import TYPE_CHECKING, Any

from nbflow.exceptions import NbflowError
from nbflow.flow import Flow
from nbflow.templates import load_template
from nbflow.widget.viewmodel import ALL_LAYERS

if TYPE_CHECKING:
    import ipywidgets as w

    from nbflow.model.record import RunResult
    from nbflow.widget.viewmodel import Layer, ViewModel

__all__ = ["FileActions"]


class FileActions:
    """Export, import, upload and start-from-template buttons."""

    if TYPE_CHECKING:
        flow: Flow
        vm: ViewModel
        path: w.Text
        download: w.HTML
        upload: w.FileUpload
        templates: w.Dropdown
        result: RunResult | None

        def _say(self, text: str, level: str = "info") -> None: ...
        def _apply(self, layers: frozenset[Layer], *, panels: bool = False) -> None: ...

    # -- export and import ------------------------------------------------------------------------

    def export(self, path: str | Path | None = None) -> Path | None:
        """Write the flow JSON to ``path`` (default: the file box) and offer it as a download."""
        target = Path(path or self.path.value.strip() or f"{self.flow.name}.json")
        try:
            self.flow.save(target)
        except OSError as exc:
            self._say(f"cannot write {target}: {exc.strerror or exc}", "error")
            return None
        data = target.read_bytes()
        href = "data:application/json;base64," + base64.b64encode(data).decode()
        name = html.escape(target.name)
        self.download.value = (f'<a class="nbflow-download" download="{name}" href="{href}" '
                               f'title="download {name}">⬇ {name}</a>')
        self._say(f"exported {target} ({len(data):,} bytes)")
        return target

    def import_path(self, path: str | Path | None = None) -> bool:
        """Replace the flow's contents with the flow file at ``path`` (one undo step)."""
        source = Path(path or self.path.value.strip())
        try:
            other = Flow.load(source, registry=self.flow.registry)
        except NbflowError as exc:
            self._say(f"cannot import: {exc}", "error")
            return False
        return self._take(other, str(source))

    def import_text(self, text: str | bytes, name: str = "upload") -> bool:
        """Replace the flow's contents with flow JSON text (what the Upload button does)."""
        try:
            other = Flow.loads(text, source=name, registry=self.flow.registry)
        except NbflowError as exc:
            self._say(f"cannot import: {exc}", "error")
            return False
        return self._take(other, name)

    def start_from_template(self, name: str) -> bool:
        """Replace the canvas with template ``name`` (one undo step; see ``nbflow templates``)."""
        try:
            other = load_template(name)
        except NbflowError as exc:
            self._say(f"cannot start from template: {exc}", "error")
            return False
        return self._take(other, f"template {name}")

    def _on_template(self, change: dict[str, Any]) -> None:
        if change["new"]:
            self.start_from_template(change["new"])
            self.templates.value = ""

    def _take(self, other: Flow, source: str) -> bool:
        self.vm.replace(other)
        self.result = None
        self.vm.fit()
        self._apply(ALL_LAYERS, panels=True)
        self._say(f"imported {source}: {len(other.spec.nodes)} nodes, {len(other.spec.edges)} edges")
        return True

    def _on_upload(self, change: dict[str, Any]) -> None:
        files = change["new"]
        if not files:
            return
        f = files[0]
        self.import_text(bytes(f["content"]), f.get("name", "upload"))
        self.upload.unobserve(self._on_upload, names="value")
        self.upload.value = ()
        self.upload.observe(self._on_upload, names="value")
