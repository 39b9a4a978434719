"""Approval notices: when a run pauses for approval, tell someone, with links to decide.

Configured as ``notices`` in the server configuration (``nbflow serve --config``; ``nbflow run`` and
``nbflow schedule`` take the same file with ``--notify``)::

    "notices": {
      "base_url": "https://nbflow.example.com",        # where nbflow serve is reached: the links
      "link_secret_env": "NBFLOW_LINK_SECRET",          # the secret signing the links
      "link_ttl": "24h",
      "webhook": {"url_env": "NBFLOW_NOTICE_WEBHOOK"},  # Slack-compatible JSON: text + blocks
      "email": {"host": "smtp.example.com", "port": 587, "security": "starttls", "username": "nbflow",
                "password_env": "NBFLOW_SMTP_PASSWORD", "from": "nbflow@example.com",
                "to": ["reviewers@example.com"]},
      "attempts": 5, "backoff": 1.0
    }

Every secret is a reference (the name of an environment variable, a ``.env`` entry or a secrets
manager's key), never a value: the webhook URL counts as one, since chat webhooks carry their token
in the URL. :mod:`.notifier` delivers the notices; :mod:`.links` signs the links.
"""

from __future__ import annotations

import html
import time
from dataclasses import dataclass
from email.message import EmailMessage
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from nbflow.exceptions import ConfigError
from nbflow.model.validation import parse_config
from nbflow.ops.timespec import parse_duration
from nbflow.providers.secrets import Secrets

__all__ = ["DEFAULT_LINK_SECRET_ENV", "EmailNotice", "Notice", "NoticeConfig", "WebhookNotice",
           "email_message", "preview", "slack_payload"]

DEFAULT_LINK_SECRET_ENV = "NBFLOW_LINK_SECRET"


class WebhookNotice(BaseModel):
    """A webhook that takes Slack-compatible JSON (Slack incoming webhooks, Mattermost, Rocket.Chat...)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    url_env: str = Field(description="Secret holding the webhook URL (the URL is a credential).")


class EmailNotice(BaseModel):
    """An email through an SMTP server."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    host: str = Field(description="SMTP server host.")
    port: int = Field(default=587, ge=1, le=65535)
    security: Literal["starttls", "ssl", "none"] = Field(default="starttls", description="starttls (port "
                                                         "587), ssl (implicit TLS, port 465) or none.")
    username: str | None = Field(default=None, description="Log in as this user (with password_env).")
    password_env: str | None = Field(default=None, description="Secret holding the SMTP password.")
    from_addr: str = Field(alias="from", description="The sender address.")
    to: list[str] = Field(min_length=1, description="Recipients.")

    @field_validator("to")
    @classmethod
    def _addresses(cls, v: list[str]) -> list[str]:
        for a in v:
            if "@" not in a or any(c in a for c in "\r\n,;"):
                raise ValueError(f"{a!r} is not one email address")
        return v


class NoticeConfig(BaseModel):
    """Where approval notices go and how the links in them are made."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    base_url: str = Field(description="The address of nbflow serve as reviewers reach it; the links "
                          "start with it.")
    link_secret_env: str = Field(default=DEFAULT_LINK_SECRET_ENV, description="Secret holding the key "
                                 "that signs the links (every replica needs the same one).")
    link_ttl: float = Field(default=86400.0, gt=0, description="Seconds (or 24h, 30m) a link stays valid; "
                            "never past the approval's own timeout.")
    webhook: WebhookNotice | None = None
    email: EmailNotice | None = None
    attempts: int = Field(default=5, ge=1, le=20, description="Delivery attempts per channel.")
    backoff: float = Field(default=1.0, ge=0, description="Seconds before the second attempt; doubles.")
    max_backoff: float = Field(default=60.0, ge=0, description="Longest wait between attempts.")
    timeout: float = Field(default=10.0, gt=0, description="Seconds per delivery attempt.")

    @field_validator("base_url")
    @classmethod
    def _url(cls, v: str) -> str:
        if not v.startswith(("http://", "https://")):
            raise ValueError("must be an http:// or https:// URL")
        return v.rstrip("/")

    @field_validator("link_ttl", mode="before")
    @classmethod
    def _seconds(cls, v: Any) -> Any:
        return parse_duration(v, what="notices.link_ttl")

    @classmethod
    def parse(cls, obj: Any, *, where: str = "notices") -> NoticeConfig:
        """Validate from JSON; ConfigError naming the field."""
        return parse_config(cls, obj, where=where, whole="notices")

    def check_secrets(self, secrets: Secrets) -> None:
        """ConfigError naming each referenced secret that is not set (checked when the server starts)."""
        named = [("link_secret_env", self.link_secret_env)]
        if self.webhook is not None:
            named.append(("webhook.url_env", self.webhook.url_env))
        if self.email is not None and self.email.password_env:
            named.append(("email.password_env", self.email.password_env))
        for field, name in named:
            if secrets.get(name) is None:
                raise ConfigError(f"notices.{field}: secret {name} is not set (set the environment variable "
                                  f"{name}, add it to .env, or configure a secrets provider)")
        if self.webhook is None and self.email is None:
            raise ConfigError("notices: name a webhook or an email (or both) to send approval notices to")


@dataclass(frozen=True, slots=True)
class Notice:
    """One paused approval, told to a reviewer."""

    flow: str
    run_id: str
    node_id: str
    prompt: str
    value: str
    """A short text preview of the value to approve."""
    approve_url: str
    reject_url: str
    expires_at: float
    status_url: str | None = None
    webhook_env: str | None = None
    """The flow's own webhook (``defaults.notify.webhook_env``), instead of the server's."""
    email_to: tuple[str, ...] = ()
    """The flow's own reviewers (``defaults.notify.email_to``), instead of the server's recipients."""

    @property
    def title(self) -> str:
        return f"Approval needed: flow {self.flow!r}, node {self.node_id!r}"

    @property
    def text(self) -> str:
        return (f"{self.title} (run {self.run_id}): {self.prompt}\nValue: {self.value}\n"
                f"Approve: {self.approve_url}\nReject: {self.reject_url}")


def preview(value: Any, limit: int = 500) -> str:
    """A short, single-purpose text view of a value for a notice (media are named, not inlined)."""
    kind = getattr(value, "kind", None)
    if kind in ("image", "audio", "video", "file"):
        return f"[{kind}]"
    text = value if isinstance(value, str) else repr(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _utc(when: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(when))


def _mrkdwn(text: str) -> str:
    # Slack's own escaping: only these three characters are control characters in mrkdwn.
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def slack_payload(n: Notice) -> dict[str, Any]:
    """The Slack-compatible JSON body: a fallback ``text`` plus Block Kit ``blocks`` with two URL buttons."""
    fields = [{"type": "mrkdwn", "text": f"*Flow*\n{_mrkdwn(n.flow)}"},
              {"type": "mrkdwn", "text": f"*Node*\n{_mrkdwn(n.node_id)}"},
              {"type": "mrkdwn", "text": f"*Run*\n`{_mrkdwn(n.run_id)}`"},
              {"type": "mrkdwn", "text": f"*Links expire*\n<!date^{int(n.expires_at)}^{{date_short_pretty}} "
                                         f"{{time}}|{_utc(n.expires_at)}>"}]
    return {
        "text": n.text,
        "blocks": [
            {"type": "header", "text": {"type": "plain_text", "text": n.title[:150]}},
            {"type": "section", "fields": fields},
            {"type": "section", "text": {"type": "mrkdwn", "text": f"*{_mrkdwn(n.prompt)}*\n"
                                                                   f"```{_mrkdwn(n.value)}```"}},
            {"type": "actions", "elements": [
                {"type": "button", "style": "primary", "text": {"type": "plain_text", "text": "Approve"},
                 "url": n.approve_url, "action_id": "nbflow_approve"},
                {"type": "button", "style": "danger", "text": {"type": "plain_text", "text": "Reject"},
                 "url": n.reject_url, "action_id": "nbflow_reject"},
            ]},
        ],
        "nbflow": {"kind": "approval", "flow": n.flow, "run_id": n.run_id, "node_id": n.node_id,
                   "approve_url": n.approve_url, "reject_url": n.reject_url, "expires_at": int(n.expires_at)},
    }


def email_message(n: Notice, *, sender: str, to: list[str]) -> EmailMessage:
    """The notice as an email: plain text with an HTML alternative, both with the two links."""
    msg = EmailMessage()
    msg["Subject"] = n.title
    msg["From"] = sender
    msg["To"] = ", ".join(to)
    msg["Auto-Submitted"] = "auto-generated"
    msg.set_content(f"{n.text}\n\nEach link works once and opens a page asking you to confirm.\n")
    e = html.escape
    msg.add_alternative(
        f"<p><b>{e(n.title)}</b> (run <code>{e(n.run_id)}</code>)</p><p>{e(n.prompt)}</p>"
        f"<pre>{e(n.value)}</pre><p><a href=\"{e(n.approve_url)}\">Approve</a> &middot; "
        f"<a href=\"{e(n.reject_url)}\">Reject</a></p>"
        "<p>Each link works once and opens a page asking you to confirm.</p>", subtype="html")
    return msg
