"""ElevenLabs speech, Runway video (submit then poll) and the reusable submit/poll helper."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from nbflow import Flow, ProviderError
from nbflow.providers.polling import JobState, submit_and_poll
from nbflow.providers.runway import RUNWAY_VERSION

from .helpers import FAST_RETRY


def test_elevenlabs_speech_node(fake_env: Any) -> None:
    f = Flow("tts")
    f.add("input.text", id="text", default="Hello from nbflow")
    f.add("speech", id="say", provider="elevenlabs", model="eleven_multilingual_v2")
    f.add("output", id="out")
    f.connect("text.value", "say.text")
    f.connect("say.audio", "out.value")
    res = f.run()
    assert res.ok, res.error
    audio = res.outputs["out"]
    assert audio.mime == "audio/mpeg" and audio.meta["format"] == "mp3_44100_128"
    (req,) = fake_env.requests
    assert req.path == "/v1/text-to-speech/JBFqnCBsd6RMkjVDRZzb"
    assert req.query == {"output_format": "mp3_44100_128"}
    assert req.headers["xi-api-key"] == "fake-key"
    assert req.json == {"text": "Hello from nbflow", "model_id": "eleven_multilingual_v2"}
    usage = res.nodes["say"].usage[0]
    assert usage["characters"] == 17 and usage["cost"] == pytest.approx(17 * 180 / 1e6)


def test_openai_speech_node_with_voice(fake_env: Any) -> None:
    f = Flow("tts")
    f.add("input.text", id="text", default="Hi")
    f.add("speech", id="say", provider="openai", model="tts-1", voice="nova", speed=1.25)
    f.add("output", id="out")
    f.connect("text.value", "say.text")
    f.connect("say.audio", "out.value")
    assert f.run().ok
    assert fake_env.requests[0].json == {"model": "tts-1", "input": "Hi", "voice": "nova",
                                         "response_format": "mp3", "speed": 1.25}


def _video_flow(**params: Any) -> Flow:
    f = Flow("video")
    f.add("input.text", id="prompt", default="a teapot spinning")
    f.add("input.image", id="frame", required=False)
    f.add("video", id="vid", poll_interval=0.01, policy={"retry": FAST_RETRY}, **params)
    f.add("output", id="out")
    f.connect("prompt.value", "vid.prompt")
    f.connect("frame.value", "vid.image")
    f.connect("vid.video", "out.value")
    return f


def test_runway_text_to_video_submit_poll_download(fake_env: Any) -> None:
    fake_env.video_polls = 3
    events: list[Any] = []
    res = _video_flow(model="veo3", duration=8).run(on_event=events.append)
    assert res.ok, res.error
    assert res.outputs["out"].mime == "video/mp4"
    reqs = fake_env.requests
    submit = reqs[0]
    assert submit.path == "/v1/text_to_video"
    assert submit.headers["authorization"] == "Bearer fake-key"
    assert submit.headers["x-runway-version"] == RUNWAY_VERSION
    assert submit.json == {"model": "veo3", "promptText": "a teapot spinning", "ratio": "1280:720", "duration": 8}
    polls = [r for r in reqs if r.path.startswith("/v1/tasks/")]
    assert len(polls) == 4 and all(r.headers["x-runway-version"] == RUNWAY_VERSION for r in polls)
    assert next(e.data["message"] for e in events if e.kind == "progress").startswith("submitted job")
    assert res.nodes["vid"].usage[0] == {"provider": "runway", "model": "veo3", "video_seconds": 8.0,
                                         "cost": 3.2}


def test_runway_image_to_video_sends_a_data_uri(fake_env: Any, tmp_path: Any) -> None:
    from nbflow.providers.offline import png_bytes

    img = tmp_path / "f.png"
    img.write_bytes(png_bytes(1, 1, [b"\0\0\0"]))
    res = _video_flow().run(frame=str(img))
    assert res.ok, res.error
    submit = fake_env.requests[0]
    assert submit.path == "/v1/image_to_video"
    assert submit.json["promptImage"].startswith("data:image/png;base64,")
    assert submit.json["model"] == "gen4_turbo"


def _poll_states(states: list[JobState]) -> Any:
    it = iter(states)

    async def submit() -> str:
        return "job-1"

    async def poll(job: str) -> JobState:
        return next(it)

    return submit, poll


def test_submit_and_poll_returns_the_result_and_reports_progress() -> None:
    seen: list[Any] = []
    submit, poll = _poll_states([JobState(False, progress=0.3, status="RUNNING"), JobState(True, result=["u"])])
    out = asyncio.run(submit_and_poll("p", submit, poll, interval=0.001,
                                      on_progress=lambda f, m: seen.append((f, m))))
    assert out == ["u"] and seen == [(0.0, "submitted job job-1"), (0.3, "job job-1 running")]


def test_submit_and_poll_failure_and_overall_timeout() -> None:
    submit, poll = _poll_states([JobState(True, error="bad prompt (SAFETY.INPUT.TEXT)")])
    with pytest.raises(ProviderError, match="job job-1 failed: bad prompt") as info:
        asyncio.run(submit_and_poll("runway", submit, poll, interval=0.001))
    assert not info.value.retryable
    submit, poll = _poll_states([JobState(False)] * 1000)
    clock = _JumpClock()
    with pytest.raises(ProviderError, match="did not finish within 60s") as info:
        asyncio.run(submit_and_poll("runway", submit, poll, interval=10, timeout=60, clock=clock))
    assert not info.value.retryable  # submitting again would pay again
    assert clock.sleeps == [10, 25, 47.5, 60]  # waits grow by half, the last one cut at the deadline


class _JumpClock:
    """Sleeping moves time to the wake-up moment at once: polling's timing, read exactly."""

    def __init__(self) -> None:
        self.t = 0.0
        self.sleeps: list[float] = []

    def now(self) -> float:
        return self.t

    async def sleep_until(self, t: float) -> None:
        self.sleeps.append(t)
        self.t = max(self.t, t)


def test_runway_failed_task_with_internal_code_is_retryable(fake_env: Any) -> None:
    import httpx

    from nbflow.providers.catalog import Providers

    server = httpx.MockTransport(lambda r: httpx.Response(200, json={
        "id": "t", "status": "FAILED", "failure": "An internal error", "failureCode": "INTERNAL.BAD_OUTPUT.CODE01"}))
    p = Providers(transport=server).get("runway", node_id="v")
    state = asyncio.run(_failed(p))
    assert state.done and state.retryable and "INTERNAL" in (state.error or "")


async def _failed(p: Any) -> JobState:
    return await p._poll("t")  # type: ignore[no-any-return]
