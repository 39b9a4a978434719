"""Delivering approval notices: a webhook and/or an email per paused approval, retried with backoff.

    notifier = Notifier(NoticeConfig.parse({...}))
    for notice in notifier.notices(store, run_id):
        notifier.send_soon(notice)        # in the background: the run never waits for it
    await notifier.drain(30)              # (a command about to exit waits a bounded time)

Delivery never raises and never fails a run: each channel is tried ``attempts`` times with doubling
waits; the outcome of each channel is kept on ``deliveries``, logged to ``nbflow.notices`` and passed
to ``on_delivery`` (the server counts it in ``nbflow_notices_total``). What is logged names the channel,
the run and the node, with the kind of failure or the HTTP/SMTP status; never the webhook URL, the
SMTP password or the link secret.
"""

from __future__ import annotations

import asyncio
import logging
import smtplib
import ssl
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from email.message import EmailMessage
from typing import Any

from nbflow.exceptions import ConfigError, NbflowError, SecretError
from nbflow.model.spec import NotifySpec
from nbflow.ops.links import MIN_SECRET_BYTES, ApprovalLinks
from nbflow.ops.notices import EmailNotice, Notice, NoticeConfig, email_message, preview, slack_payload
from nbflow.providers.netguard import AllowList, allow_list, post_json_guarded
from nbflow.providers.secrets import Secrets
from nbflow.redaction import redact
from nbflow.store.runstore import RunStore

__all__ = ["Delivery", "Notifier", "send_smtp"]

log = logging.getLogger("nbflow.notices")

#: ``send(url, payload, timeout) -> HTTP status``
WebhookSend = Callable[[str, dict[str, Any], float], Awaitable[int]]
#: ``send(email config, password, message, timeout)``, blocking (run in a thread)
EmailSend = Callable[[EmailNotice, "str | None", EmailMessage, float], None]


class _Retry(Exception):
    """One failed attempt; its text is safe to log."""


@dataclass(kw_only=True, slots=True)
class Delivery:
    """The outcome of one notice on one channel."""

    channel: str
    """``webhook`` or ``email``."""
    run_id: str
    node_id: str
    ok: bool
    attempts: int
    error: str | None = None
    """Why the last attempt failed (no secrets in it)."""
    at: float = field(default_factory=time.time)


def send_smtp(cfg: EmailNotice, password: str | None, msg: EmailMessage, timeout: float) -> None:
    """Send ``msg`` through the configured SMTP server (blocking)."""
    context = ssl.create_default_context()
    smtp: smtplib.SMTP
    if cfg.security == "ssl":
        smtp = smtplib.SMTP_SSL(cfg.host, cfg.port, timeout=timeout, context=context)
    else:
        smtp = smtplib.SMTP(cfg.host, cfg.port, timeout=timeout)
    with smtp:
        if cfg.security == "starttls":
            smtp.starttls(context=context)
        if cfg.username:
            smtp.login(cfg.username, password or "")
        smtp.send_message(msg, from_addr=cfg.from_addr, to_addrs=list(cfg.to))


class Notifier:
    """Builds and delivers the notices of one configuration.

    Args:
        config: the ``notices`` configuration.
        secrets: where the referenced secrets are resolved (default: environment, ``.env``, managers).
        allow: internal hosts the webhook may be on (the server's ``allow_hosts``), besides those of
            ``NBFLOW_ALLOW_HOSTS``.
        send_webhook, send_email: replace the senders (tests).
        sleep: waits between attempts (tests pass a fast one).
        on_delivery: called with each :class:`Delivery`.

    Raises:
        ConfigError: a referenced secret is not set, or no channel is configured.
    """

    def __init__(self, config: NoticeConfig, *, secrets: Secrets | None = None, allow: AllowList | None = None,
                 send_webhook: WebhookSend | None = None, send_email: EmailSend | None = None,
                 sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep,
                 on_delivery: Callable[[Delivery], Any] | None = None) -> None:
        self.config = config
        self.secrets = secrets or Secrets()
        config.check_secrets(self.secrets)
        key = self.secrets.require(config.link_secret_env)
        if len(key.encode()) < MIN_SECRET_BYTES:
            raise ConfigError(f"notices.link_secret_env: secret {config.link_secret_env} is {len(key.encode())} "
                              f"bytes; approval links need at least {MIN_SECRET_BYTES} (e.g. openssl rand -hex 32)")
        self.links = ApprovalLinks(key, config.base_url, ttl=config.link_ttl)
        self.allow = allow
        self._send_webhook = send_webhook or self._post
        self._send_email = send_email or send_smtp
        self.sleep = sleep
        self.on_delivery = on_delivery
        self.deliveries: deque[Delivery] = deque(maxlen=1000)
        self._tasks: set[asyncio.Task[Any]] = set()

    def __repr__(self) -> str:
        channels = [c for c in ("webhook", "email") if getattr(self.config, c) is not None]
        return f"<Notifier {'+'.join(channels)} links={self.config.base_url}>"

    # -- what to say --------------------------------------------------------------------------------

    def notices(self, store: RunStore, run_id: str, nodes: set[str] | None = None, *, once: bool = False,
                route: NotifySpec | None = None) -> list[Notice]:
        """A notice per pending approval of ``run_id`` (only those at ``nodes``, when given).

        ``once``: leave out pauses already told about (kept in the store, so a resume that finds a node
        still waiting, here or at another replica, does not notify again). ``route``: the flow's
        ``defaults.notify`` (its own webhook or reviewers, or none at all).
        """
        if route is not None and not route.enabled:
            return []
        summary = store.summary(run_id)
        out = []
        for a in store.approvals(run_id):
            if nodes is not None and a.node_id not in nodes:
                continue
            if once and not store.remember(f"approval-notice:{run_id}:{a.node_id}:{a.created_at!r}",
                                           ttl=self.links.ttl):
                continue
            links = self.links.pair(run_id, a.node_id, since=a.created_at, deadline=a.deadline)
            expires = min(time.time() + self.links.ttl, a.deadline or float("inf"))
            out.append(Notice(flow=summary.flow, run_id=run_id, node_id=a.node_id,
                              prompt=a.reason or str(a.data.get("prompt") or "Approve this?"),
                              value=preview(a.data.get("value")), approve_url=links["approve"],
                              reject_url=links["reject"], expires_at=expires,
                              status_url=f"{self.config.base_url}/runs/{run_id}",
                              webhook_env=route.webhook_env if route else None,
                              email_to=tuple(route.email_to or ()) if route else ()))
        return out

    # -- delivering ---------------------------------------------------------------------------------

    def send_soon(self, notice: Notice) -> asyncio.Task[Any]:
        """Deliver in the background (on the running loop); the caller never waits for it."""
        return self.background(self.deliver(notice))

    def background(self, coro: Awaitable[Any]) -> asyncio.Task[Any]:
        """Run ``coro`` as a task that :meth:`drain` waits for."""
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    async def drain(self, timeout: float) -> None:
        """Wait up to ``timeout`` seconds for background deliveries, then cancel what is left."""
        tasks = list(self._tasks)
        if not tasks:
            return
        _done, pending = await asyncio.wait(tasks, timeout=timeout)
        for t in pending:
            t.cancel()
        await asyncio.gather(*pending, return_exceptions=True)

    async def deliver(self, notice: Notice) -> list[Delivery]:
        """Send ``notice`` on every configured channel at once; never raises."""
        jobs = []
        if self.config.webhook is not None or notice.webhook_env:
            jobs.append(self._channel("webhook", notice, self._webhook_once))
        if self.config.email is not None:
            jobs.append(self._channel("email", notice, self._email_once))
        return list(await asyncio.gather(*jobs))

    async def _channel(self, channel: str, notice: Notice,
                       once: Callable[[Notice], Awaitable[None]]) -> Delivery:
        cfg = self.config
        error: str | None = None
        attempt = 0
        for attempt in range(1, cfg.attempts + 1):
            try:
                await asyncio.wait_for(once(notice), cfg.timeout + 5.0)
                error = None
                break
            except asyncio.CancelledError:
                raise
            except _Retry as exc:
                error = str(exc)
            except asyncio.TimeoutError:
                error = "timed out"
            except Exception as exc:  # a sender's bug must not escape into the server's loop
                error = f"{type(exc).__name__}"
            if attempt < cfg.attempts:
                await self.sleep(min(cfg.max_backoff, cfg.backoff * 2 ** (attempt - 1)))
        d = Delivery(channel=channel, run_id=notice.run_id, node_id=notice.node_id, ok=error is None,
                     attempts=attempt, error=None if error is None else redact(error))
        self._record(d)
        return d

    def _record(self, d: Delivery) -> None:
        self.deliveries.append(d)
        if d.ok:
            log.info("approval notice for run %s node %r sent by %s", d.run_id, d.node_id, d.channel)
        else:
            log.error("approval notice for run %s node %r was not sent by %s after %d attempt(s): %s",
                      d.run_id, d.node_id, d.channel, d.attempts, d.error)
        if self.on_delivery is not None:
            try:
                self.on_delivery(d)
            except Exception:  # counting must not turn a delivery into a failure
                log.exception("on_delivery failed")

    async def _webhook_once(self, notice: Notice) -> None:
        name = notice.webhook_env or (self.config.webhook.url_env if self.config.webhook else "")
        # Not remembered for scrubbing (its 8-character pieces, "https://", would scrub every URL): the
        # URL is simply never put in any text.
        url = self.secrets.get(name)
        if not url:
            raise _Retry(f"secret {name} is not set")
        try:
            status = await self._send_webhook(url, slack_payload(notice), self.config.timeout)
        except NbflowError as exc:  # post_json_guarded's messages never hold the URL
            raise _Retry(str(exc)) from None
        except Exception as exc:  # anything else is named by its type only: its text might hold the URL
            raise _Retry(type(exc).__name__) from None
        if not 200 <= status < 300:
            raise _Retry(f"the webhook answered HTTP {status}")

    async def _post(self, url: str, payload: dict[str, Any], timeout: float) -> int:
        allow = allow_list() if self.allow is None else allow_list() | self.allow  # NBFLOW_ALLOW_HOSTS too
        return await post_json_guarded(url, payload, timeout=timeout, allow=allow,
                                       headers={"user-agent": "nbflow-notices"})

    async def _email_once(self, notice: Notice) -> None:
        cfg = self.config.email
        assert cfg is not None
        try:  # require() also has the password scrubbed from every error and log line from now on
            password = self.secrets.require(cfg.password_env) if cfg.password_env else None
        except SecretError as exc:
            raise _Retry(str(exc)) from None
        if notice.email_to:
            cfg = cfg.model_copy(update={"to": list(notice.email_to)})
        msg = email_message(notice, sender=cfg.from_addr, to=list(cfg.to))
        try:
            await asyncio.to_thread(self._send_email, cfg, password, msg, self.config.timeout)
        except smtplib.SMTPResponseException as exc:
            raise _Retry(f"the SMTP server answered {exc.smtp_code}") from None
        except (smtplib.SMTPException, OSError) as exc:
            raise _Retry(f"SMTP failed ({type(exc).__name__})") from None
