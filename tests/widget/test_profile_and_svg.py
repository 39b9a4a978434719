"""The toolbar names the environment profile (NBFLOW_ENV); vector (SVG) results preview like any image."""

from __future__ import annotations

import pytest

from nbflow.widget import Editor

from .builders import product_flow


def test_toolbar_shows_the_active_profile(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NBFLOW_ENV", "")
    ed = Editor(product_flow())
    assert "env: <b>none</b>" in ed.env_label.value
    assert ed.env_label in ed.children[0].children  # in the first toolbar row, next to Run
    monkeypatch.setenv("NBFLOW_ENV", "dev")
    ed._sync_buttons()  # as after any action or run
    assert "env: <b>dev</b>" in ed.env_label.value
    monkeypatch.setenv("NBFLOW_ENV", "not a name!")
    ed._sync_buttons()
    assert "invalid NBFLOW_ENV" in ed.env_label.value


def test_svg_results_preview_as_images_on_the_node_and_in_the_panel() -> None:
    import ipywidgets as w

    from nbflow.model.values import Media
    from nbflow.testing.fakemedia import SVG
    from nbflow.widget.panels import _media_widget
    from nbflow.widget.viewmodel import short_preview

    svg = Media(mime="image/svg+xml", data=SVG, name="image_0.svg")
    pv = short_preview(svg)
    assert pv.kind == "image" and pv.media is svg
    ed = Editor(product_flow())
    img = ed.renderer.image_widget(svg)
    assert img.format == "svg+xml" and img.value == SVG  # drawn as a blob of type image/svg+xml
    panel = _media_widget(svg)
    assert isinstance(panel, w.Image) and panel.format == "svg+xml"
