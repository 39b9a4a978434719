"""Approval notices in parts: signed links, the Slack-compatible body, the email, delivery with retries
against a local HTTP receiver and a real SMTP server (aiosmtpd), and failures recorded without secrets."""

from __future__ import annotations

import asyncio
import logging
import time

import pytest

from nbflow.exceptions import ConfigError
from nbflow.ops.links import ApprovalLinks, LinkError
from nbflow.ops.notices import Notice, NoticeConfig, email_message, slack_payload
from nbflow.ops.notifier import Notifier
from nbflow.providers.netguard import AllowList
from nbflow.providers.secrets import DictSecrets, Secrets

from .helpers import Receiver
from .mailsink import MailSink, free_port

# The local SMTP server asks for a login over plain SMTP (no TLS on a loopback test server).
pytestmark = pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")

SECRET = "link-secret-0123456789abcdef-0123456789"


def _notice(**kw: object) -> Notice:
    base = dict(flow="review", run_id="r-1", node_id="check", prompt="Publish this?", value="<b>hello</b> & co",
                approve_url="https://nb.example/approvals/a.b", reject_url="https://nb.example/approvals/c.d",
                expires_at=time.time() + 3600)
    base.update(kw)
    return Notice(**base)  # type: ignore[arg-type]


def test_link_round_trip_tamper_foreign_and_expiry() -> None:
    now = [1_000_000.0]
    links = ApprovalLinks(SECRET, "https://nb.example/", ttl=600, clock=lambda: now[0])
    token = links.token("r-1", "check", "approve", since=999_999.5)
    claim = links.verify(token)
    assert (claim.run_id, claim.node_id, claim.decision, claim.since) == ("r-1", "check", "approve", 999_999.5)
    assert claim.approve and claim.expires_at == 1_000_600
    assert links.url(token) == f"https://nb.example/approvals/{token}"
    assert SECRET not in token and SECRET not in repr(links)
    # Changing any part of the token (the decision in the payload, or the MAC) is refused.
    payload, mac = token.split(".")
    forged = ApprovalLinks("other-secret-0123456789abcdef-0123456789", "https://nb.example", clock=lambda: now[0])
    other = forged.token("r-1", "check", "reject", since=999_999.5)
    for bad in (other.split(".")[0] + "." + mac, payload + "." + mac[:-2] + "AA", other):
        with pytest.raises(LinkError) as err:
            links.verify(bad)
        assert err.value.reason == "tampered"
    for bad in ("", "no-dot", "." + mac, payload + "."):
        with pytest.raises(LinkError) as err:
            links.verify(bad)
        assert err.value.reason == "malformed"
    # A link never outlives the approval's own deadline; after expiry it is refused.
    short = links.token("r-1", "check", "reject", since=1.0, deadline=1_000_100.0)
    assert links.verify(short).expires_at == 1_000_100
    now[0] = 1_000_100.0
    with pytest.raises(LinkError) as err:
        links.verify(short)
    assert err.value.reason == "expired" and "nbflow resume r-1" in str(err.value)
    assert links.verify(token).decision == "approve"  # the longer one still holds


def test_slack_payload_has_text_blocks_and_two_link_buttons() -> None:
    n = _notice()
    body = slack_payload(n)
    assert "review" in body["text"] and "check" in body["text"] and n.approve_url in body["text"]
    kinds = [b["type"] for b in body["blocks"]]
    assert kinds == ["header", "section", "section", "actions"]
    fields = " ".join(f["text"] for f in body["blocks"][1]["fields"])
    assert "*Flow*\nreview" in fields and "*Node*\ncheck" in fields and "r-1" in fields
    what = body["blocks"][2]["text"]["text"]
    assert "Publish this?" in what and "&lt;b&gt;hello&lt;/b&gt; &amp; co" in what  # mrkdwn escaped
    buttons = body["blocks"][3]["elements"]
    assert [(b["text"]["text"], b["url"], b["style"]) for b in buttons] == [
        ("Approve", n.approve_url, "primary"), ("Reject", n.reject_url, "danger")]


def test_email_message_text_and_html_carry_both_links() -> None:
    n = _notice()
    msg = email_message(n, sender="nbflow@example.com", to=["a@example.com", "b@example.com"])
    assert msg["Subject"] == "Approval needed: flow 'review', node 'check'"
    assert msg["To"] == "a@example.com, b@example.com"
    text = msg.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    html = msg.get_body(("html",)).get_content()  # type: ignore[union-attr]
    assert n.approve_url in text and n.reject_url in text and "Publish this?" in text
    assert f'href="{n.approve_url}"' in html and "&lt;b&gt;hello&lt;/b&gt;" in html


def _config(**kw: object) -> NoticeConfig:
    return NoticeConfig.parse({"base_url": "https://nb.example", "attempts": 3, "backoff": 1.0, "timeout": 5,
                               **kw})


def test_webhook_is_retried_with_backoff_then_delivered(caplog: pytest.LogCaptureFixture) -> None:
    with Receiver(status=503) as receiver:
        secrets = Secrets(DictSecrets({"NBFLOW_LINK_SECRET": SECRET, "HOOK": receiver.url}))
        waits: list[float] = []

        async def sleep(d: float) -> None:
            waits.append(d)
            if len(waits) == 2:
                receiver.status = 200  # the third attempt gets through

        notifier = Notifier(_config(webhook={"url_env": "HOOK"}), secrets=secrets,
                            allow=AllowList.parse(["127.0.0.1"]), sleep=sleep)
        with caplog.at_level(logging.INFO, logger="nbflow.notices"):
            [d] = asyncio.run(notifier.deliver(_notice()))
    assert d.ok and d.attempts == 3 and d.channel == "webhook" and waits == [1.0, 2.0]
    assert len(receiver.received) == 3 and receiver.received[-1]["nbflow"]["node_id"] == "check"
    assert "sent by webhook" in caplog.text and receiver.url not in caplog.text


def test_failures_are_recorded_and_logged_without_secrets(caplog: pytest.LogCaptureFixture) -> None:
    port = free_port()  # nothing listens here
    hook = f"http://127.0.0.1:{port}/T000/B000/xoxb-secret-path"
    secrets = Secrets(DictSecrets({"NBFLOW_LINK_SECRET": SECRET, "HOOK": hook, "SMTP_PW": "smtp-pass-9876"}))
    seen: list[object] = []

    async def no_wait(d: float) -> None:
        return None

    with MailSink(user="nbflow", password="right-password") as sink:
        cfg = _config(webhook={"url_env": "HOOK"}, email={
            "host": "127.0.0.1", "port": sink.port, "security": "none", "username": "nbflow",
            "password_env": "SMTP_PW", "from": "nbflow@example.com", "to": ["ops@example.com"]})
        # Loopback is not in the allow-list: the URL guard refuses the webhook before connecting.
        notifier = Notifier(cfg, secrets=secrets, sleep=no_wait, on_delivery=seen.append)
        with caplog.at_level(logging.INFO, logger="nbflow.notices"):
            result = asyncio.run(notifier.deliver(_notice()))
        assert sink.messages == []
    by = {d.channel: d for d in result}
    assert not by["webhook"].ok and by["webhook"].attempts == 3 and "not allowed" in (by["webhook"].error or "")
    assert not by["email"].ok and by["email"].error == "the SMTP server answered 535"
    assert list(notifier.deliveries) == result and seen == result
    logged = caplog.text + repr(result)
    assert "was not sent by webhook after 3 attempt(s)" in caplog.text
    for secret in ("xoxb-secret-path", str(port), "smtp-pass-9876", SECRET):
        assert secret not in logged


def test_email_reaches_a_real_smtp_server_with_the_referenced_password() -> None:
    with MailSink(user="nbflow", password="smtp-pass-9876") as sink:
        secrets = Secrets(DictSecrets({"NBFLOW_LINK_SECRET": SECRET, "SMTP_PW": "smtp-pass-9876"}))
        cfg = _config(email={"host": "127.0.0.1", "port": sink.port, "security": "none", "username": "nbflow",
                             "password_env": "SMTP_PW", "from": "nbflow@example.com", "to": ["ops@example.com"]})
        [d] = asyncio.run(Notifier(cfg, secrets=secrets).deliver(_notice()))
        assert d.ok and d.attempts == 1
        assert sink.logins == ["nbflow"] and sink.envelopes == [("nbflow@example.com", ["ops@example.com"])]
        assert "https://nb.example/approvals/a.b" in sink.messages[0].get_body(("plain",)).get_content()


def test_configuration_names_missing_secrets_and_refuses_values() -> None:
    with pytest.raises(ConfigError, match=r"notices.link_secret_env: secret NBFLOW_LINK_SECRET is not set"):
        Notifier(_config(webhook={"url_env": "HOOK"}), secrets=Secrets(DictSecrets({"HOOK": "http://x"})))
    with pytest.raises(ConfigError, match=r"notices.webhook.url_env: secret MISSING_HOOK is not set"):
        Notifier(_config(webhook={"url_env": "MISSING_HOOK"}),
                 secrets=Secrets(DictSecrets({"NBFLOW_LINK_SECRET": SECRET})))
    with pytest.raises(ConfigError, match="name a webhook or an email"):
        Notifier(_config(), secrets=Secrets(DictSecrets({"NBFLOW_LINK_SECRET": SECRET})))
    # The webhook URL and the password are references: a literal URL field does not exist.
    with pytest.raises(ConfigError, match=r"field 'webhook.url'"):
        _config(webhook={"url_env": "HOOK", "url": "https://hooks.slack.com/services/T/B/x"})
    with pytest.raises(ConfigError, match=r"field 'email.password'"):
        _config(email={"host": "h", "from": "a@b.c", "to": ["d@e.f"], "password": "hunter2"})
    assert _config(link_ttl="30m").link_ttl == 1800


def test_a_flow_routes_or_silences_its_own_notices(tmp_path) -> None:
    from nbflow.flow import Flow
    from nbflow.model.spec import NotifySpec
    from nbflow.store import MemoryStore

    from .helpers import APPROVE, load

    spec = {**APPROVE, "defaults": {"notify": {"webhook_env": "TEAM_HOOK", "email_to": ["team@example.com"]}}}
    flow = load(tmp_path, spec)
    route = flow.spec.defaults.notify
    assert route is not None and Flow.loads(flow.dumps()).spec.defaults.notify == route  # kept in the file
    store = MemoryStore()
    result = flow.run({"draft": "hi"}, store=store)
    assert result.status == "paused"
    with Receiver() as server_hook, Receiver() as team_hook, MailSink() as sink:
        secrets = Secrets(DictSecrets({"NBFLOW_LINK_SECRET": SECRET, "HOOK": server_hook.url,
                                       "TEAM_HOOK": team_hook.url}))
        cfg = _config(webhook={"url_env": "HOOK"}, email={"host": "127.0.0.1", "port": sink.port, "security": "none",
                                                           "from": "nbflow@example.com", "to": ["ops@example.com"]})
        notifier = Notifier(cfg, secrets=secrets, allow=AllowList.parse(["127.0.0.1"]))
        assert notifier.notices(store, result.run_id, route=NotifySpec(enabled=False), once=True) == []
        [notice] = notifier.notices(store, result.run_id, route=route, once=True)
        assert notifier.notices(store, result.run_id, route=route, once=True) == []  # each pause told once
        deliveries = asyncio.run(notifier.deliver(notice))
        assert sorted(d.channel for d in deliveries if d.ok) == ["email", "webhook"]
        assert len(team_hook.received) == 1 and server_hook.received == []
        assert sink.envelopes == [("nbflow@example.com", ["team@example.com"])]
    links = notifier.links.verify(notice.approve_url.rsplit("/", 1)[1])
    assert (links.run_id, links.node_id, links.decision) == (result.run_id, "check", "approve")
