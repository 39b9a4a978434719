"""The generic http node: method, URL, headers from secrets, JSON body template, response path."""

from __future__ import annotations

from typing import Any

import pytest

from nbflow import Flow, ParamError, SecretError
from nbflow.providers.generic import extract_path, fill_template

from .helpers import FAST_RETRY


def _flow(url: str, **params: Any) -> Flow:
    f = Flow("http")
    f.add("input.json", id="vars", default={"city": "Oslo", "days": 3})
    f.add("http", id="call", url=url, policy={"retry": FAST_RETRY}, **params)
    f.add("output", id="out")
    f.connect("vars.value", "call.vars")
    f.connect("call.json", "out.value")
    return f


def test_request_with_secret_header_template_and_path(fake_env: Any, monkeypatch: Any) -> None:
    monkeypatch.setenv("WEATHER_TOKEN", "wt-secret-123")
    f = _flow(f"{fake_env.url}/api/forecast/{{{{city}}}}", method="POST",
              headers={"Authorization": "Bearer ${WEATHER_TOKEN}", "X-Client": "nbflow"},
              body={"city": "{{city}}", "days": "{{days}}", "note": "for {{city}}"}, response_path="$.json.days")
    res = f.run()
    assert res.ok, res.error
    assert res.outputs["out"] == 3
    req = fake_env.requests[0]
    assert req.method == "POST" and req.path == "/api/forecast/Oslo"
    assert req.headers["authorization"] == "Bearer wt-secret-123" and req.headers["x-client"] == "nbflow"
    assert req.json == {"city": "Oslo", "days": 3, "note": "for Oslo"}
    assert "wt-secret-123" not in f.dumps()


def test_missing_header_secret_fails_before_any_request(fake_env: Any) -> None:
    f = _flow(f"{fake_env.url}/api", headers={"Authorization": "Bearer ${NOT_SET_ANYWHERE}"})
    with pytest.raises(SecretError, match="node 'call': secret NOT_SET_ANYWHERE is not set"):
        f.run()
    assert fake_env.requests == []


def test_not_found_is_not_retried_and_server_errors_are(fake_env: Any) -> None:
    fake_env.fault("status", status=404, provider="http")
    res = _flow(f"{fake_env.url}/api", method="GET").run()
    assert res.status == "failed" and len(fake_env.requests) == 1
    assert res.nodes["call"].error["message"] == "http (HTTP 404): fault 404"
    fake_env.reset()
    fake_env.fault("status", status=503, provider="http", retry_after_ms=10)
    assert _flow(f"{fake_env.url}/api", method="GET").run().ok and len(fake_env.requests) == 2


def test_bad_response_path_names_the_missing_step(fake_env: Any) -> None:
    res = _flow(f"{fake_env.url}/api", response_path="json.items[0]").run()
    assert res.status == "failed"
    # an answer without what the path names is a retryable provider error (it may be a passing fault)
    assert res.nodes["call"].error["message"] == \
        "http (HTTP 200): response_path 'json.items[0]': no key 'items' at json"


def test_template_placeholders_must_have_values(fake_env: Any) -> None:
    res = _flow(f"{fake_env.url}/api", body={"q": "{{missing}}"}).run()
    assert "no value for placeholder {{missing}}" in (res.error or "")


def test_mustache_in_headers_is_refused() -> None:
    with pytest.raises(ParamError, match=r"use \$\{NAME\} for secrets"):
        _flow("https://api.example.com", headers={"Authorization": "{{token}}"})


def test_extract_path_and_fill_template() -> None:
    data = {"a": {"b": [10, {"c": "x"}]}, "k.y": 1}
    assert extract_path(data, "a.b[1].c") == "x" and extract_path(data, "$.a.b[-2]") == 10
    assert extract_path(data, '["k.y"]') == 1 and extract_path(data, "") == data
    with pytest.raises(KeyError, match=r"no item \[5\] at a.b"):
        extract_path(data, "a.b[5]")
    assert fill_template({"n": "{{x.y}}", "s": "v={{x.y}}"}, {"x": {"y": 2}}) == {"n": 2, "s": "v=2"}
    assert fill_template("https://h/{{q}}", {"q": "a b/c"}, url=True) == "https://h/a%20b%2Fc"
