"""What a node shows as its preview after a run: a picture among its outputs first (a loop's latest
iteration's picture, not its score), else its first output."""

from __future__ import annotations

from nbflow.model.record import NodeRecord
from nbflow.model.values import Media
from nbflow.templates import load_template
from nbflow.widget.previews import record_preview
from nbflow.widget.viewmodel import ViewModel


def test_the_seed_loop_node_shows_its_latest_picture_not_its_score() -> None:
    flow = load_template("generate-score-regenerate")
    result = flow.run()
    rec = result.nodes["attempts"]
    assert rec.outputs is not None
    first = next(iter(rec.outputs.values()))
    assert not isinstance(first, Media)  # the loop's first output is not the picture
    vm = ViewModel(flow, width=1000, height=600)
    vm.apply_result(result)
    p = vm.previews["attempts"]
    assert p.kind == "image" and p.media is not None
    assert p.media == result.outputs["image"]  # the latest iteration's picture, as the flow's output


def test_a_node_without_a_picture_shows_its_first_output() -> None:
    rec = NodeRecord(id="n", type="json.extract", status="done", outputs={"value": 0.87, "text": "good"})
    p = record_preview(rec)
    assert p is not None and (p.kind, p.text) == ("text", "0.87")


def test_a_picture_output_wins_over_earlier_outputs() -> None:
    img = Media(mime="image/png", name="pic.png", data=b"\x89PNG")
    rec = NodeRecord(id="n", type="loop", status="done",
                     outputs={"score": 0.87, "iterations": [{"score": 0.5, "image": img}], "count": 1})
    p = record_preview(rec)
    assert p is not None and p.kind == "image" and p.media == img
