"""The toolbar names the environment profile (NBFLOW_ENV) whose keys and base URLs a run from the canvas uses."""

from __future__ import annotations

import pytest

from nbflow.widget import Editor

from .flows import product_flow


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
