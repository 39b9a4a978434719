"""The seed's chain (Anthropic LLM -> Recraft image -> ElevenLabs voice): offline as shipped, real providers by one param each."""

from __future__ import annotations

from typing import Any

from nbflow.templates import load_template


def test_story_picture_voice_runs_offline_and_each_node_switches_by_one_param(fake_env: Any) -> None:
    flow = load_template("story-picture-voice")
    offline = flow.run()
    assert offline.ok, offline.error
    assert fake_env.requests == []  # offline: no call made
    assert offline.outputs["story"].startswith("[offline]")
    for node, provider in (("story", "anthropic"), ("art", "recraft"), ("narration", "elevenlabs")):
        flow.set_params(node, provider=provider)  # the one param that changes
    res = flow.run()
    assert res.ok, res.error
    paths = [r.path for r in fake_env.requests if r.provider != "files"]
    assert paths[0] == "/v1/messages"  # the image and the voice wait for the story, then run side by side
    assert sorted(paths[1:]) == ["/recraft/v1/images/generations", "/v1/text-to-speech/JBFqnCBsd6RMkjVDRZzb"]
    story = res.outputs["story"]
    assert fake_env.requests[0].json["model"] == "claude-sonnet-4-5"
    recraft = next(r for r in fake_env.requests if r.provider == "recraft")
    assert recraft.json["model"] == "recraftv3" and recraft.json["style"] == "digital_illustration"
    assert story in recraft.json["prompt"]
    voice = next(r for r in fake_env.requests if r.provider == "elevenlabs")
    assert voice.json == {"text": story, "model_id": "eleven_multilingual_v2"}
    assert res.outputs["art"].mime == "image/png" and res.outputs["narration"].mime == "audio/mpeg"
    priced = {u["provider"]: u["cost"] for rec in res.nodes.values() for u in rec.usage}
    assert set(priced) == {"anthropic", "recraft", "elevenlabs"} and all(c > 0 for c in priced.values())
