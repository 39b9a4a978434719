"""Side panels: a params form generated from the node type's params schema, and a preview of outputs.

The params form reads ``Params.model_json_schema()``: enums become dropdowns, the ``provider`` and
``model`` fields dropdowns of known names (the model list accepts any name), bounded numbers bounded
fields, prompts and templates text areas, objects a JSON text area, and secret references (``*_env``
fields) plain text that holds a name, never a value. Each committed change is one ``set_params`` call,
validated by the flow; an invalid value is refused with the flow's one-line message.

The preview renders a value by its type: text (wrapped, selectable), JSON (pretty), image, audio and
video (players), files (download link), lists (paged), plus a node's error, attempts, usage and cost.
"""

from __future__ import annotations

import base64
import html
import json
from collections.abc import Callable
from typing import Any

import ipywidgets as w

from nbflow.exceptions import NbflowError
from nbflow.flow import Flow
from nbflow.model.record import NodeRecord, value_to_json
from nbflow.model.values import Media
from nbflow.widget.mapitem import item_choice
from nbflow.widget.status import Problem

__all__ = ["MODEL_SUGGESTIONS", "ParamsPanel", "PreviewPanel", "field_widget", "render_value"]

#: Model names offered per provider; the model field still takes any name.
MODEL_SUGGESTIONS: dict[str, tuple[str, ...]] = {
    "offline": ("offline-chat", "offline-image"),
    "openai": ("gpt-4o-mini", "gpt-4o", "gpt-image-1"),
    "anthropic": ("claude-3-5-haiku-latest", "claude-3-5-sonnet-latest"),
    "gemini": ("gemini-1.5-flash", "gemini-1.5-pro"),
}
_TEXTAREA_NAMES = frozenset({"template", "system", "prompt", "text", "instructions"})


def _wide() -> w.Layout:
    """A fresh full-width layout (a Layout is a widget: sharing one would share its changes)."""
    return w.Layout(width="98%")

_STYLE = {"description_width": "96px"}
_PROBLEM_CSS = "border-left:3px solid #d93025;padding:2px 6px;background:#fdecea;line-height:1.4;"


def _pre(text: str, *, color: str = "#1f2933") -> w.HTML:
    """Wrapped, selectable (so copyable) text."""
    return w.HTML(f'<pre class="nbflow-text" style="white-space:pre-wrap;word-break:break-word;'
                  f'user-select:text;max-height:320px;overflow:auto;margin:0;padding:6px;'
                  f'background:#f7f8fa;border:1px solid #e1e4e8;border-radius:4px;color:{color};'
                  f'font-size:12px">{html.escape(text)}</pre>', layout=_wide())


def _media_widget(m: Media) -> w.Widget:
    sub = m.mime.split("/")[-1]
    if m.data is None:
        url = html.escape(m.url or "")
        tag = {"image": f'<img src="{url}" style="max-width:100%">',
               "audio": f'<audio controls src="{url}"></audio>',
               "video": f'<video controls src="{url}" style="max-width:100%"></video>'}
        return w.HTML(tag.get(m.kind, f'<a href="{url}" target="_blank">{url}</a>'))
    if m.kind == "image":
        # a flex column stretches its children: keep the image's own aspect ratio
        return w.Image(value=m.data, format=sub,
                       layout=w.Layout(max_width="100%", height="auto", align_self="flex-start",
                                       object_fit="contain"))
    if m.kind == "audio":
        return w.Audio(value=m.data, format=sub, autoplay=False, loop=False)
    if m.kind == "video":
        return w.Video(value=m.data, format=sub, autoplay=False, loop=False,
                       layout=w.Layout(max_width="100%", align_self="flex-start"))
    name = html.escape(m.name or "file")
    href = f"data:{m.mime};base64,{base64.b64encode(m.data).decode()}"
    return w.HTML(f'<a download="{name}" href="{href}">download {name}</a> ({m.mime}, {m.size:,} bytes)')


class _Pager(w.VBox):
    """A list shown one item at a time, with previous/next buttons."""

    def __init__(self, items: list[Any]) -> None:
        self.items = items
        self.index = 0
        self.prev = w.Button(description="◀", layout=w.Layout(width="36px"), tooltip="previous item")
        self.next = w.Button(description="▶", layout=w.Layout(width="36px"), tooltip="next item")
        self.label = w.Label()
        self.body = w.VBox()
        self.prev.on_click(lambda _: self.show(self.index - 1))
        self.next.on_click(lambda _: self.show(self.index + 1))
        super().__init__([w.HBox([self.prev, self.label, self.next]), self.body])
        self.show(0)

    def show(self, i: int) -> None:
        n = len(self.items)
        self.index = max(0, min(n - 1, i))
        self.label.value = f"item {self.index + 1} of {n}" if n else "empty list"
        self.prev.disabled = self.index <= 0
        self.next.disabled = self.index >= n - 1
        self.body.children = [render_value(self.items[self.index])] if n else []


def render_value(value: Any) -> w.Widget:
    """A widget showing ``value`` by its type (text, JSON, media, list)."""
    if isinstance(value, Media):
        return _media_widget(value)
    if isinstance(value, str):
        return _pre(value)
    if isinstance(value, list):
        return _Pager(value)
    if isinstance(value, (bool, int, float)) or value is None:
        return _pre(json.dumps(value))
    if isinstance(value, dict) and any(isinstance(v, Media) or _has_media(v) for v in value.values()):
        # a record holding media (a loop iteration, a map item): each field by its own type
        rows: list[w.Widget] = []
        for k, v in value.items():
            rows.append(w.HTML(f"<b>{html.escape(str(k))}</b>"))
            rows.append(render_value(v))
        return w.VBox(rows, layout=_wide())
    try:
        return _pre(json.dumps(value_to_json(value, inline_media=False), indent=2, ensure_ascii=False,
                               sort_keys=True))
    except (TypeError, ValueError):
        return _pre(repr(value))


def _has_media(value: Any) -> bool:
    if isinstance(value, Media):
        return True
    if isinstance(value, list):
        return any(_has_media(v) for v in value[:20])
    if isinstance(value, dict):
        return any(_has_media(v) for v in value.values())
    return False


class PreviewPanel(w.VBox):
    """The selected node's last output, error, usage and cost."""

    def __init__(self) -> None:
        self.header = w.HTML()
        self.port = w.ToggleButtons(options=[], style={"button_width": "auto"})
        self.body = w.VBox(layout=_wide())
        self.footer = w.HTML()
        self._outputs: dict[str, Any] = {}
        self._head: list[w.Widget] = []
        self.port.observe(self._on_port, names="value")
        super().__init__([self.header, self.body, self.footer], layout=w.Layout(width="100%"))
        self.show(None, None)

    def show(self, node_id: str | None, rec: NodeRecord | None, *, status: str | None = None) -> None:
        """Show ``rec`` (the node's record from the last run), or a hint when there is none."""
        if node_id is None:
            self.header.value = "<b>Preview</b><br><i>select a node to see its last output</i>"
            self.body.children, self.footer.value = [], ""
            return
        st = rec.status if rec is not None else (status or "not run yet")
        dur = f", {rec.duration:.2f}s" if rec is not None and rec.duration is not None else ""
        self.header.value = f"<b>Preview: {html.escape(node_id)}</b> <span>({html.escape(st)}{dur})</span>"
        parts: list[w.Widget] = []
        if rec is not None and rec.error:
            parts.append(self._error(rec))
        elif rec is not None and rec.reason:
            parts.append(_pre(rec.reason))
        self._outputs = dict(rec.outputs or {}) if rec is not None else {}
        if self._outputs:
            names = list(self._outputs)
            if len(names) > 1:
                self.port.unobserve(self._on_port, names="value")
                self.port.options = names
                self.port.value = names[0]
                self.port.observe(self._on_port, names="value")
                parts.append(self.port)
            self._head = list(parts)
            parts.append(render_value(self._outputs[names[0]]))
        elif rec is None:
            parts.append(w.HTML("<i>run the flow (or this node) to see its output</i>"))
        self.body.children = parts
        self.footer.value = self._usage(rec) if rec is not None else ""

    def _on_port(self, change: dict[str, Any]) -> None:
        name = change["new"]
        if name in self._outputs:
            self.body.children = [*self._head, render_value(self._outputs[name])]

    @staticmethod
    def _error(rec: NodeRecord) -> w.Widget:
        e = rec.error or {}
        rows = [f"<b style='color:#d93025'>{html.escape(str(e.get('type', 'Error')))}</b>: "
                f"{html.escape(str(e.get('message', 'failed')))}",
                f"attempts: {e.get('attempts', rec.attempts)}"]
        if e.get("status") is not None:
            rows.append(f"provider status: HTTP {e['status']}")
        if e.get("provider"):
            rows.append(f"provider: {html.escape(str(e['provider']))}")
        box = w.HTML("<div style='border-left:3px solid #d93025;padding-left:6px'>" + "<br>".join(rows)
                     + "</div>")
        return box

    @staticmethod
    def _usage(rec: NodeRecord) -> str:
        if not rec.usage and not rec.cost:
            return ""
        lines = []
        for u in rec.usage:
            bits = ", ".join(f"{k} {v}" for k, v in u.items() if k not in ("provider", "model", "cost"))
            lines.append(f"{html.escape(str(u.get('provider', '?')))} {html.escape(str(u.get('model', '')))}"
                         f": {html.escape(bits)}")
        lines.append(f"cost ${rec.cost:.4f}")
        return "<small>usage: " + "<br>".join(lines) + "</small>"


def _resolve(schema: dict[str, Any], defs: dict[str, Any]) -> tuple[dict[str, Any], bool]:
    """The field's own schema (following ``$ref``) and whether it accepts null."""
    nullable = False
    if "anyOf" in schema:
        opts = [s for s in schema["anyOf"] if s.get("type") != "null"]
        nullable = len(opts) < len(schema["anyOf"])
        base = {k: v for k, v in schema.items() if k != "anyOf"}
        schema = {**opts[0], **base} if len(opts) == 1 else {**base, "type": None}
    ref = schema.get("$ref")
    if isinstance(ref, str):
        schema = {**defs.get(ref.rsplit("/", 1)[-1], {}), **{k: v for k, v in schema.items() if k != "$ref"}}
    return schema, nullable


def field_widget(name: str, schema: dict[str, Any], value: Any, *, defs: dict[str, Any] | None = None,
                 choices: list[str] | None = None) -> tuple[w.Widget, Callable[[], Any], w.Widget]:
    """The input widget for one params field.

    Returns ``(container, read, watched)``: the widget to show, a function giving its current value
    (raising ValueError when it does not parse), and the widget whose ``value`` changes mean "commit".

    Long (over 60 lines) because it is one dispatch over the JSON Schema shapes a field may take (enum,
    boolean, number, text, JSON); each branch is a few lines and reads best next to the others.
    """
    s, nullable = _resolve(schema, defs or {})
    t = s.get("type")
    desc = s.get("description", "")
    kw: dict[str, Any] = {"description": name, "style": _STYLE, "layout": _wide(), "tooltip": desc}
    if "enum" in s or choices is not None:
        opts = [str(o) for o in (s.get("enum") or choices or [])]
        if value is not None and str(value) not in opts:
            opts.append(str(value))
        if name == "model":
            combo = w.Combobox(value="" if value is None else str(value), options=opts, ensure_option=False,
                               continuous_update=False, placeholder="model name", **kw)
            return combo, lambda: combo.value.strip() or None, combo
        if nullable:
            opts = ["", *opts]
        dd = w.Dropdown(options=opts, value="" if value is None else str(value), **kw)
        return dd, lambda: dd.value or None, dd
    if t == "boolean":
        cb = w.Checkbox(value=bool(value), indent=False, **kw)
        return cb, lambda: cb.value, cb
    if t in ("integer", "number"):
        lo = s.get("minimum", s.get("exclusiveMinimum"))
        hi = s.get("maximum", s.get("exclusiveMaximum"))
        cls = w.BoundedIntText if t == "integer" else w.BoundedFloatText
        start = value if value is not None else s.get("default")
        if start is None:
            start = lo or 0
        if nullable:
            kw["layout"] = w.Layout(flex="1 1 auto", width="auto")
        num = cls(value=start, min=-1e18 if lo is None else lo, max=1e18 if hi is None else hi,
                  continuous_update=False, **kw)
        if not nullable:
            return num, lambda: num.value, num
        use = w.Checkbox(value=value is not None, indent=False, layout=w.Layout(width="28px", flex="0 0 28px"),
                         tooltip=f"checked: use this value; unchecked: the default for {name}")
        num.disabled = value is None
        use.observe(lambda ch: setattr(num, "disabled", not ch["new"]), names="value")
        box = w.HBox([num, use], layout=_wide())
        return box, lambda: num.value if use.value else None, _Either(num, use)
    if t == "string" or (t is None and name.endswith("_env")):
        if name.endswith("_env") or "secret" in name:
            txt = w.Text(value=value or "", placeholder="ENV_VAR_NAME (a name, never the key)",
                         continuous_update=False, **kw)
            return txt, lambda: txt.value.strip() or None, txt
        if s.get("widget") == "textarea" or name in _TEXTAREA_NAMES:
            ta = w.Textarea(value=value or "", rows=4, continuous_update=False, **kw)
            return ta, lambda: ta.value if (ta.value or not nullable) else None, ta
        txt = w.Text(value="" if value is None else str(value), continuous_update=False, **kw)
        return txt, lambda: txt.value if (txt.value or not nullable) else None, txt
    # objects, arrays and untyped values are edited as JSON
    ta = w.Textarea(value="" if value is None else json.dumps(value, indent=2, ensure_ascii=False),
                    rows=3, continuous_update=False, placeholder="JSON", **kw)

    def read_json() -> Any:
        text = ta.value.strip()
        if not text:
            return None
        try:
            return json.loads(text)
        except json.JSONDecodeError as exc:
            raise ValueError(f"not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}") from None

    return ta, read_json, ta


class _Either:
    """Watch two widgets as one (a number field and its "set" checkbox)."""

    def __init__(self, *widgets: w.Widget) -> None:
        self.widgets = widgets

    def observe(self, fn: Callable[[dict[str, Any]], None], names: str = "value") -> None:
        for x in self.widgets:
            x.observe(fn, names=names)


OnParam = Callable[[str, str, Any], None]
OnRename = Callable[[str, str], None]


class ParamsPanel(w.VBox):
    """A form for the selected node: its id (renamable) and every params field of its type."""

    def __init__(self, flow: Flow, *, on_param: OnParam, on_rename: OnRename,
                 on_run_ready: Callable[[], Any] | None = None) -> None:
        self.flow = flow
        self.problems: list[Problem] = []  # why the last run could not start (each shown on its node)
        self.ready: list[str] = []  # the nodes that can run without the node at fault
        self.on_run_ready = on_run_ready
        self.problem_box = w.VBox()
        self.run_ready_button = w.Button(description="Run the rest", icon="play", layout=w.Layout(width="auto"),
                                         tooltip="run the nodes that do not need this node")
        self.run_ready_button.add_class("nbflow-run-ready")
        self.run_ready_button.on_click(lambda _: self.on_run_ready() if self.on_run_ready else None)
        self.on_param = on_param
        self.on_rename = on_rename
        self.node_id: str | None = None
        self.header = w.HTML()
        self.error = w.HTML()
        self.id_text = w.Text(description="id", style=_STYLE, layout=w.Layout(width="70%"))
        self.rename_button = w.Button(description="Rename", layout=w.Layout(width="28%"),
                                      tooltip="rename the node; its edges follow")
        self.rename_button.on_click(lambda _: self._rename())
        self.fields: dict[str, w.Widget] = {}
        self.readers: dict[str, Callable[[], Any]] = {}
        super().__init__([], layout=w.Layout(width="100%"))
        self.show(None)

    def show(self, node_id: str | None) -> None:
        """Build the form for ``node_id`` (None: a hint)."""
        self.node_id = node_id
        self.fields, self.readers = {}, {}
        self.error.value = ""
        if node_id is None or node_id not in self.flow.nodes:
            self.node_id = None
            self.header.value = "<b>Params</b><br><i>select a node to edit its params</i>"
            self.children = [self.header]
            return
        spec = self.flow.node(node_id)
        self.id_text.value = node_id
        rows: list[w.Widget] = [self.header, w.HBox([self.id_text, self.rename_button], layout=_wide())]
        if spec.type not in self.flow.registry:
            self.header.value = f"<b>{html.escape(spec.type)}</b> <i>(unknown node type)</i>"
            self.children = [*rows, self.error]
            return
        cls = self.flow.registry.get(spec.type)
        # the HTML widget's line height is a widget row's (28px): a wrapped description reads normally
        self.header.value = (f"<div class='nbflow-node-head' style='line-height:1.4'><b>"
                             f"{html.escape(cls.title or cls.type)}</b> <code>{html.escape(cls.type)}</code>"
                             f"<br><small>{html.escape(cls.description)}</small></div>")
        params_model: Any = cls.Params
        schema = params_model.model_json_schema()
        defs = schema.get("$defs", {})
        for name, fs in schema.get("properties", {}).items():
            value = spec.params.get(name, fs.get("default"))
            choices = None
            if name == "provider":
                choices = self.flow.providers.known()
            elif name == "model":
                prov = str(spec.params.get("provider", "offline"))
                used = {str(n.params["model"]) for n in self.flow.spec.nodes if "model" in n.params}
                choices = sorted({*MODEL_SUGGESTIONS.get(prov, ()), *used,
                                  *([str(fs["default"])] if fs.get("default") else [])})
            elif name == "item_input" and spec.type == "map":  # the body inputs: which one each item feeds
                value, choices = item_choice(self.flow, node_id)
            box, read, watched = field_widget(name, fs, value, defs=defs, choices=choices)
            watched.observe(lambda _ch, n=name: self._commit(n), names="value")
            self.fields[name] = box
            self.readers[name] = read
            rows.append(box)
        rows.append(self.error)
        self._show_problem(node_id, rows)
        self.children = rows

    @property
    def problem(self) -> Problem | None:
        """The first problem of the last run that could not start (setting it sets the only one)."""
        return self.problems[0] if self.problems else None

    @problem.setter
    def problem(self, value: Problem | None) -> None:
        self.problems = [] if value is None else [value]

    def _show_problem(self, node_id: str, rows: list[w.Widget]) -> None:
        """Why the run could not start, at the top of the form: one short line per problem (every node at
        fault, so all are fixed in one pass), the button that runs the rest and this node's fields at
        fault (outlined), then its fix folded, so the action is in view without scrolling even in a short
        notebook panel."""
        mine = [p for p in self.problems if p.node == node_id]
        if not mine:
            return
        head = "Cannot run:" if len(self.problems) == 1 else f"Cannot run, {len(self.problems)} problems:"
        lines = [f"<b style='color:#d93025'>{head}</b>"] + [
            f"<div title='{html.escape(p.message)}' style='white-space:nowrap;overflow:hidden;"
            f"text-overflow:ellipsis{';font-weight:bold' if p.node == node_id else ''}'>"
            f"{html.escape(p.label())}: {html.escape(p.message)}</div>" for p in self.problems]
        if len(self.problems) == 1:  # one line: the head and the problem side by side
            lines = [lines[1].replace(">", f">{lines[0]} ", 1)]
        parts: list[w.Widget] = [w.HTML(f"<div class='nbflow-problem' style='{_PROBLEM_CSS}'>{''.join(lines)}"
                                        "</div>", layout=_wide())]
        if self.ready:
            them = "it" if len({p.node for p in self.problems}) == 1 else "them"
            self.run_ready_button.description = f"Run the {len(self.ready)} nodes that do not need {them}"
            parts.append(self.run_ready_button)
        fixes = "<br>".join(f"{html.escape(p.fix)}" for p in mine if p.fix)
        if fixes:
            parts.append(w.HTML(
                f"<details class='nbflow-problem-details' style='line-height:1.4;font-size:12px'><summary>"
                f"how to fix</summary>{fixes}<br><small>{html.escape(mine[0].message)}</small>"
                f"</details>", layout=_wide()))
        self.problem_box.children = parts
        rows.insert(0, self.problem_box)
        at_fault = [self.fields[p.field] for p in mine if p.field in self.fields]
        for i, box in enumerate(dict.fromkeys(at_fault), 1):  # outlined, moved up under the problem
            box.layout.border = "2px solid #d93025"
            box.add_class("nbflow-field-at-fault")
            rows.remove(box)
            rows.insert(i, box)

    def _commit(self, name: str) -> None:
        if self.node_id is None:
            return
        try:
            value = self.readers[name]()
            self.on_param(self.node_id, name, value)
        except (ValueError, NbflowError) as exc:
            if name == "item_input":  # a refused choice: show the one the map keeps (committing it is a no-op)
                self.fields[name].value = item_choice(self.flow, self.node_id)[0]
            msg = html.escape(f"{name}: {exc}")
            self.error.value = f"<span style='color:#d93025'>{msg}</span>"
            return
        self.error.value = ""

    def _rename(self) -> None:
        if self.node_id is None:
            return
        new = self.id_text.value.strip()
        try:
            self.on_rename(self.node_id, new)
        except (ValueError, NbflowError) as exc:
            msg = str(exc).splitlines()[0]
            self.error.value = f"<span style='color:#d93025'>rename: {html.escape(msg)}</span>"
            return
        self.error.value = ""
