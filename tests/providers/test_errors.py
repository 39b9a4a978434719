"""Which failures are retried, how long the server asked us to wait, and one-line error messages."""

from __future__ import annotations

import email.utils

import httpx
import pytest

from nbflow.providers.errors import error_from_response, is_retryable_status, parse_retry_after
from nbflow.providers.secrets import Secret


@pytest.mark.parametrize(("status", "retryable"), [
    (400, False), (401, False), (403, False), (404, False), (422, False),
    (408, True), (409, True), (429, True), (500, True), (502, True), (503, True), (504, True), (529, True),
])
def test_retryable_statuses(status: int, retryable: bool) -> None:
    assert is_retryable_status(status) is retryable


def test_retry_after_seconds_and_fractions() -> None:
    assert parse_retry_after(httpx.Headers({"retry-after": "7"})) == 7.0
    assert parse_retry_after(httpx.Headers({"retry-after": "0.25"})) == 0.25


def test_retry_after_http_date() -> None:
    now = 1_700_000_000.0
    date = email.utils.formatdate(now + 30, usegmt=True)
    assert parse_retry_after(httpx.Headers({"Retry-After": date}), now=now) == pytest.approx(30, abs=1)
    past = email.utils.formatdate(now - 30, usegmt=True)
    assert parse_retry_after(httpx.Headers({"Retry-After": past}), now=now) == 0.0


def test_retry_after_ms_wins_over_seconds() -> None:
    h = httpx.Headers({"retry-after": "9", "retry-after-ms": "1500"})
    assert parse_retry_after(h) == 1.5


def test_gemini_retry_info_in_body() -> None:
    body = {"error": {"code": 429, "details": [
        {"@type": "type.googleapis.com/google.rpc.QuotaFailure"},
        {"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "37.5s"}]}}
    assert parse_retry_after(httpx.Headers(), body) == 37.5
    proto = {"error": {"details": [{"@type": "type.googleapis.com/google.rpc.RetryInfo",
                                    "retryDelay": {"seconds": 2, "nanos": 500_000_000}}]}}
    assert parse_retry_after(httpx.Headers(), proto) == 2.5


def test_no_hint_and_garbage_give_none() -> None:
    assert parse_retry_after(httpx.Headers()) is None
    assert parse_retry_after(httpx.Headers({"retry-after": "soon"})) is None


def _resp(status: int, body: bytes, ctype: str = "application/json", **headers: str) -> httpx.Response:
    return httpx.Response(status, content=body, headers={"content-type": ctype, **headers})


def test_error_message_from_each_provider_shape() -> None:
    for body, msg in [
        (b'{"error": {"message": "Rate limit reached", "type": "requests"}}', "Rate limit reached"),
        (b'{"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}', "Overloaded"),
        (b'{"detail": {"status": "quota_exceeded", "message": "Quota exceeded"}}', "Quota exceeded"),
        (b'{"error": "Task not found"}', "Task not found"),
    ]:
        err = error_from_response("p", _resp(429, body))
        assert err.message == msg and err.status == 429 and err.retryable


def test_html_error_page_is_one_clear_line() -> None:
    err = error_from_response("openai", _resp(502, b"<!DOCTYPE html><html><body><h1>502</h1>\n</body></html>",
                                              "text/html"))
    assert "HTML error page" in err.message and "\n" not in str(err) and err.retryable


def test_x_should_retry_overrides_the_status() -> None:
    assert not error_from_response("p", _resp(500, b"{}", **{"x-should-retry": "false"})).retryable
    assert error_from_response("p", _resp(400, b"{}", **{"x-should-retry": "true"})).retryable


def test_a_key_echoed_by_the_server_is_redacted() -> None:
    Secret("TEST_KEY", "tk-echoed-secret-value-123")  # resolving a secret registers it for redaction
    body = b'{"error": {"message": "Incorrect API key provided: tk-echoed-secret-value-123. See docs."}}'
    err = error_from_response("openai", _resp(401, body))
    assert "tk-echoed-secret-value-123" not in str(err) and "[redacted]" in str(err)
    assert not err.retryable
