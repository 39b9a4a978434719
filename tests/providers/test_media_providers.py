"""Recraft, Flux (BFL), Kling, Veo, Replicate and fal against the fake server's wire formats."""

from __future__ import annotations

import base64
import json
import time
from typing import Any

import httpx
import pytest

from nbflow import Flow
from nbflow.providers.bfl import BflProvider
from nbflow.providers.kling import kling_token
from nbflow.providers.marketplace import MarketplaceProvider

from .helpers import FAST_RETRY

_KEY_HEADERS = ("authorization", "x-key", "x-goog-api-key", "xi-api-key")


@pytest.fixture(autouse=True)
def _fast_polls(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(BflProvider, "poll_interval", 0.01)
    monkeypatch.setattr(MarketplaceProvider, "poll_interval", 0.01)


def image_flow(provider: str, model: str, **params: Any) -> Flow:
    f = Flow("img")
    f.add("input.text", id="prompt", default="a teapot in the rain")
    f.add("image", id="pic", provider=provider, model=model, policy={"retry": FAST_RETRY}, **params)
    f.add("output", id="out")
    f.connect("prompt.value", "pic.prompt")
    f.connect("pic.image", "out.value")
    return f


def video_flow(provider: str, model: str, *, image: bool = False, **params: Any) -> Flow:
    f = Flow("vid")
    f.add("input.text", id="prompt", default="a teapot spinning")
    f.add("video", id="vid", provider=provider, model=model, poll_interval=0.01, policy={"retry": FAST_RETRY},
          **params)
    f.add("output", id="out")
    f.connect("prompt.value", "vid.prompt")
    if image:
        f.add("input.image", id="frame")
        f.connect("frame.value", "vid.image")
    f.connect("vid.video", "out.value")
    return f


def api_requests(server: Any) -> list[Any]:
    return [r for r in server.requests if r.provider != "files"]


def file_requests(server: Any) -> list[Any]:
    return [r for r in server.requests if r.provider == "files"]


def assert_no_key_sent_to_files(server: Any) -> None:
    for r in file_requests(server):
        assert not any(h in r.headers for h in _KEY_HEADERS), r.headers


# -- Recraft --------------------------------------------------------------------------------------

def test_recraft_raster_image_with_style(fake_env: Any) -> None:
    res = image_flow("recraft", "recraftv3", style="digital_illustration", size="1365x1024",
                     options={"substyle": "hand_drawn"}).run()
    assert res.ok, res.error
    img = res.outputs["out"]
    assert img.mime == "image/png" and img.data and img.meta["style"] == "digital_illustration"
    (req,) = api_requests(fake_env)
    assert req.path == "/recraft/v1/images/generations"
    assert req.headers["authorization"] == "Bearer fake-key"
    assert req.json == {"prompt": "a teapot in the rain", "model": "recraftv3", "size": "1365x1024", "n": 1,
                        "style": "digital_illustration", "substyle": "hand_drawn"}
    assert_no_key_sent_to_files(fake_env)
    assert res.nodes["pic"].usage[0]["cost"] == pytest.approx(0.04)


def test_recraft_vector_style_gives_an_svg_priced_as_vector(fake_env: Any) -> None:
    res = image_flow("recraft", "recraftv3", style="vector_illustration").run()
    assert res.ok, res.error
    img = res.outputs["out"]
    assert img.mime == "image/svg+xml" and img.data.lstrip().startswith(b"<?xml") and img.name.endswith(".svg")
    assert img.meta["vector"] is True
    usage = res.nodes["pic"].usage[0]
    assert usage["model"] == "recraftv3_vector" and usage["cost"] == pytest.approx(0.08)


def test_recraft_vector_model_and_b64_answers(fake_env: Any) -> None:
    res = image_flow("recraft", "recraftv4_vector", options={"response_format": "b64_json"}).run()
    assert res.ok, res.error
    assert res.outputs["out"].mime == "image/svg+xml"
    assert file_requests(fake_env) == []  # the bytes came in the answer


def test_recraft_429_with_retry_after_is_retried(fake_env: Any) -> None:
    fake_env.fault("status", provider="recraft", status=429, retry_after="0")
    res = image_flow("recraft", "recraftv3").run()
    assert res.ok, res.error
    rec = res.nodes["pic"]
    assert rec.attempts == 2 and rec.history[0]["status"] == 429
    assert "rate limit" in rec.history[0]["error"]


# -- Black Forest Labs Flux -----------------------------------------------------------------------

def test_flux_submit_poll_fetch(fake_env: Any) -> None:
    res = image_flow("bfl", "flux-pro-1.1", size="1024x768").run()
    assert res.ok, res.error
    submit, *polls = api_requests(fake_env)
    assert submit.method == "POST" and submit.path == "/bfl/v1/flux-pro-1.1"
    assert submit.headers["x-key"] == "fake-key"
    assert submit.json == {"prompt": "a teapot in the rain", "width": 1024, "height": 768}
    assert len(polls) == 3 and all(p.path == "/bfl/v1/get_result" and p.headers["x-key"] == "fake-key"
                                   for p in polls)
    assert_no_key_sent_to_files(fake_env)
    assert res.outputs["out"].mime == "image/png" and res.nodes["pic"].usage[0]["cost"] == pytest.approx(0.04)


def test_flux_ratio_models_get_an_aspect_ratio(fake_env: Any) -> None:
    assert image_flow("bfl", "flux-kontext-pro", size="1920x1080").run().ok
    assert api_requests(fake_env)[0].json == {"prompt": "a teapot in the rain", "aspect_ratio": "16:9"}


def test_flux_result_is_kept_although_its_url_expires(fake_env: Any) -> None:
    fake_env.result_ttl = 2.0  # long enough for a busy machine to fetch it in time
    res = image_flow("bfl", "flux-dev").run()
    assert res.ok, res.error
    (f,) = file_requests(fake_env)
    time.sleep(2.05)
    expired = httpx.get(f"{fake_env.url}{f.path}")
    assert expired.status_code == 403 and b"expired" in expired.content
    assert res.outputs["out"].data.startswith(b"\x89PNG")  # the bytes were fetched and kept


def test_flux_expired_result_url_is_a_retryable_error_that_resubmits(fake_env: Any) -> None:
    fake_env.result_ttl = 0.0
    res = image_flow("bfl", "flux-dev").run()
    assert res.status == "failed"
    rec = res.nodes["pic"]
    assert rec.attempts == 3 and all("has expired" in h["error"] for h in rec.history)
    assert len([r for r in api_requests(fake_env) if r.method == "POST"]) == 3


def test_flux_moderation_is_not_retried(fake_env: Any) -> None:
    fake_env.fail_next_job("bfl", "moderated: unsafe content")
    res = image_flow("bfl", "flux-pro-1.1").run()
    assert res.status == "failed" and res.nodes["pic"].attempts == 1
    assert "the image was moderated" in res.error


def test_flux_poll_429_waits_without_resubmitting(fake_env: Any) -> None:
    fake_env.fault("status", provider="bfl", status=429, retry_after="0.05", path="/get_result", times=2)
    events: list[Any] = []
    res = image_flow("bfl", "flux-pro-1.1").run(on_event=events.append)
    assert res.ok, res.error
    assert res.nodes["pic"].attempts == 1
    assert len([r for r in api_requests(fake_env) if r.method == "POST"]) == 1


# -- Kling ----------------------------------------------------------------------------------------

def test_kling_jwt_is_a_valid_hs256_token() -> None:
    token = kling_token("ak", "sk", now=1_700_000_000)
    head, claims, _ = token.split(".")
    pad = lambda s: s + "=" * (-len(s) % 4)  # noqa: E731
    assert json.loads(base64.urlsafe_b64decode(pad(head))) == {"alg": "HS256", "typ": "JWT"}
    assert json.loads(base64.urlsafe_b64decode(pad(claims))) == {"iss": "ak", "exp": 1_700_001_800,
                                                                 "nbf": 1_699_999_995}


def test_kling_text_to_video(fake_env: Any) -> None:
    fake_env.media.kling_keys = ("fake-key", "fake-key-secret")  # the server checks the JWT signature
    res = video_flow("kling", "kling-v2-1-master", duration=10, options={"mode": "pro"}).run()
    assert res.ok, res.error
    submit, *polls = api_requests(fake_env)
    assert submit.path == "/kling/v1/videos/text2video"
    assert submit.json == {"model_name": "kling-v2-1-master", "prompt": "a teapot spinning", "duration": "10",
                           "aspect_ratio": "16:9", "mode": "pro"}
    assert all(p.path.startswith("/kling/v1/videos/text2video/") for p in polls)
    video = res.outputs["out"]
    assert video.mime == "video/mp4" and video.meta["seconds"] == 10.0
    assert res.nodes["vid"].usage[0]["cost"] == pytest.approx(10 * 0.28)
    assert_no_key_sent_to_files(fake_env)


def test_kling_image_to_video_sends_raw_base64(fake_env: Any, tmp_path: Any) -> None:
    from nbflow.providers.offline import png_bytes

    img = tmp_path / "f.png"
    img.write_bytes(png_bytes(1, 1, [b"\0\0\0"]))
    res = video_flow("kling", "kling-v1", image=True).run(frame=str(img))
    assert res.ok, res.error
    submit = api_requests(fake_env)[0]
    assert submit.path == "/kling/v1/videos/image2video"
    assert base64.b64decode(submit.json["image"]) == img.read_bytes() and "aspect_ratio" not in submit.json


def test_kling_wrong_secret_is_an_auth_error(fake_env: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    fake_env.media.kling_keys = ("fake-key", "the-real-secret")
    res = video_flow("kling", "kling-v1").run()
    assert res.status == "failed" and res.nodes["vid"].attempts == 1
    assert "Authorization is not valid" in res.error and "fake-key-secret" not in res.error


def test_kling_failed_task(fake_env: Any) -> None:
    fake_env.fail_next_job("kling", "prompt violates the content policy")
    res = video_flow("kling", "kling-v1").run()
    assert res.status == "failed" and "prompt violates the content policy" in res.error


# -- Veo (Gemini long-running operations) ----------------------------------------------------------

def test_veo_operation_and_download_keep_the_key_on_the_api_origin(fake_env: Any) -> None:
    fake_env.keys["veo"] = "fake-key"
    res = video_flow("gemini", "veo-3.0-generate-001", duration=8,
                     options={"negativePrompt": "blur"}).run()
    assert res.ok, res.error
    reqs = fake_env.requests
    submit = reqs[0]
    assert submit.path == "/v1beta/models/veo-3.0-generate-001:predictLongRunning"
    assert submit.headers["x-goog-api-key"] == "fake-key"
    assert submit.json == {"instances": [{"prompt": "a teapot spinning"}],
                           "parameters": {"aspectRatio": "16:9", "durationSeconds": 8, "negativePrompt": "blur"}}
    polls = [r for r in reqs if "/operations/" in r.path]
    assert polls and all(r.method == "GET" for r in polls)
    download = next(r for r in reqs if r.path.startswith("/v1beta/files/"))
    assert download.headers["x-goog-api-key"] == "fake-key" and download.query == {"alt": "media"}
    (stored,) = file_requests(fake_env)
    assert stored.headers["host"].startswith("localhost:")  # the redirect went to another origin...
    assert_no_key_sent_to_files(fake_env)  # ...and the key did not follow it
    assert res.outputs["out"].mime == "video/mp4"
    assert res.nodes["vid"].usage[0]["cost"] == pytest.approx(8 * 0.40)


def test_veo_image_to_video_and_failed_operation(fake_env: Any, tmp_path: Any) -> None:
    from nbflow.providers.offline import png_bytes

    img = tmp_path / "f.png"
    img.write_bytes(png_bytes(1, 1, [b"\0\0\0"]))
    assert video_flow("gemini", "veo-3.0-fast-generate-001", image=True).run(frame=str(img)).ok
    inst = api_requests(fake_env)[0].json["instances"][0]
    assert inst["image"]["mimeType"] == "image/png"
    assert base64.b64decode(inst["image"]["bytesBase64Encoded"]) == img.read_bytes()
    fake_env.fail_next_job("veo", "The prompt could not be submitted")
    res = video_flow("gemini", "veo-3.0-generate-001").run()
    assert res.status == "failed" and "The prompt could not be submitted (code 3)" in res.error
    assert res.nodes["vid"].attempts == 1


# -- Replicate ------------------------------------------------------------------------------------

def test_replicate_prefer_wait_fast_path_is_one_request(fake_env: Any) -> None:
    fake_env.video_polls = 0  # the model finishes within the held request
    res = image_flow("replicate", "black-forest-labs/flux-schnell", options={"aspect_ratio": "1:1"}).run()
    assert res.ok, res.error
    (req,) = api_requests(fake_env)
    assert req.path == "/replicate/v1/models/black-forest-labs/flux-schnell/predictions"
    assert req.headers["prefer"] == "wait=60" and req.headers["authorization"] == "Bearer fake-key"
    assert req.json == {"input": {"prompt": "a teapot in the rain", "aspect_ratio": "1:1"}}
    assert_no_key_sent_to_files(fake_env)
    assert res.outputs["out"].meta["predict_time"] == 1.25
    assert res.nodes["pic"].usage[0]["cost"] == pytest.approx(0.003)


def test_replicate_pinned_version_polls_until_done(fake_env: Any) -> None:
    res = image_flow("replicate", "stability-ai/sdxl:7762fd07cf82", n=2, options={"num_outputs": 2}).run()
    assert res.ok, res.error
    submit, *polls = api_requests(fake_env)
    assert submit.path == "/replicate/v1/predictions"
    assert submit.json == {"version": "7762fd07cf82", "input": {"prompt": "a teapot in the rain", "num_outputs": 2}}
    assert len(polls) == 3 and all(p.path.startswith("/replicate/v1/predictions/") for p in polls)
    assert len(res.nodes["pic"].outputs["images"]) == 2


def test_replicate_video_model_and_failure(fake_env: Any) -> None:
    res = video_flow("replicate", "kwaivgi/kling-v2.1").run()
    assert res.ok and res.outputs["out"].mime == "video/mp4"
    fake_env.fail_next_job("replicate", "CUDA out of memory")
    res = video_flow("replicate", "kwaivgi/kling-v2.1").run()
    assert res.status == "failed" and "CUDA out of memory" in res.error


def test_replicate_bad_model_name_is_a_clear_error(fake_env: Any) -> None:
    res = image_flow("replicate", "not a model").run()
    assert res.status == "failed" and "is not owner/name" in res.error
    assert api_requests(fake_env) == []


# -- fal ------------------------------------------------------------------------------------------

def test_fal_queue_submit_status_result(fake_env: Any) -> None:
    res = image_flow("fal", "fal-ai/flux/dev", options={"image_size": "square_hd"}).run()
    assert res.ok, res.error
    submit, *rest = api_requests(fake_env)
    assert submit.method == "POST" and submit.path == "/fal/fal-ai/flux/dev"
    assert submit.headers["authorization"] == "Key fake-key"
    assert submit.json == {"prompt": "a teapot in the rain", "image_size": "square_hd"}
    statuses = [r for r in rest if r.path.endswith("/status")]
    assert len(statuses) == 3 and all(r.path.startswith("/fal/fal-ai/flux/requests/") for r in statuses)
    result = rest[-1]
    assert result.path.startswith("/fal/fal-ai/flux/requests/") and not result.path.endswith("/status")
    assert all(r.headers["authorization"] == "Key fake-key" for r in rest)
    assert_no_key_sent_to_files(fake_env)
    assert res.nodes["pic"].usage[0]["cost"] == pytest.approx(0.025)


def test_fal_video_model_and_failed_request(fake_env: Any) -> None:
    res = video_flow("fal", "fal-ai/kling-video/v2/master/text-to-video").run()
    assert res.ok, res.error
    assert res.outputs["out"].mime == "video/mp4"
    fake_env.fail_next_job("fal", "runner crashed")
    res = video_flow("fal", "fal-ai/kling-video/v2/master/text-to-video").run()
    assert res.ok, res.error  # a 5xx result is worth another try, and the second job succeeds
    rec = res.nodes["vid"]
    assert rec.attempts == 2 and "runner crashed" in rec.history[0]["error"] and rec.history[0]["status"] == 500


# -- across providers -----------------------------------------------------------------------------

@pytest.mark.parametrize(("provider", "model", "cost"), [
    ("recraft", "recraftv3", 0.04), ("bfl", "flux-pro-1.1", 0.04), ("replicate", "black-forest-labs/flux-dev", 0.025),
    ("fal", "fal-ai/flux/schnell", 0.003)])
def test_estimate_prices_image_providers_without_calls(fake_env: Any, provider: str, model: str,
                                                       cost: float) -> None:
    from nbflow.providers.estimate import estimate_flow

    est = estimate_flow(image_flow(provider, model))
    assert est["cost"] == pytest.approx(cost) and est["unpriced"] == []
    assert fake_env.requests == []


def test_estimate_prices_video_providers(fake_env: Any) -> None:
    from nbflow.providers.estimate import estimate_flow

    assert estimate_flow(video_flow("kling", "kling-v2-1-master"))["cost"] == pytest.approx(5 * 0.28)
    assert estimate_flow(video_flow("gemini", "veo-3.0-generate-001", duration=8))["cost"] == pytest.approx(3.2)
    assert fake_env.requests == []


def test_missing_kling_secret_key_fails_before_any_call(fake_env: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    from nbflow.exceptions import SecretError

    monkeypatch.delenv("KLING_SECRET_KEY")
    with pytest.raises(SecretError, match="node 'vid': secret KLING_SECRET_KEY is not set"):
        video_flow("kling", "kling-v1").run()
    assert fake_env.requests == []
