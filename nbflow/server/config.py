"""The configuration of ``nbflow serve``: flows, address, auth, limits, schedules and alert rules.

From the command line, or from a JSON file (``nbflow serve --config serve.json``)::

    {
      "flows": ["flows/product_copy.json"],
      "host": "127.0.0.1", "port": 8000,
      "auth": {"token_env": "NBFLOW_SERVE_TOKEN", "hmac_env": "NBFLOW_SERVE_HMAC_SECRET", "hmac_window": 300},
      "max_body": 1048576, "max_concurrent_runs": 32, "allow_hosts": ["files.internal", "10.1.0.0/16"],
      "schedules": [{"flow": "product-copy", "cron": "0 9 * * *", "tz": "Europe/Berlin",
                     "inputs": {"product": "a teapot"}, "overlap": "skip", "missed": "run_once"}],
      "alerts": [{"max_error_rate": 0.02, "window": "1h", "webhook": "https://hooks.example/nbflow"}],
      "budget": {"run": 0.5, "flow_day": 20, "key_day": 50, "on_exceed": "stop"},
      "notices": {"base_url": "https://nbflow.example.com", "webhook": {"url_env": "NBFLOW_NOTICE_WEBHOOK"}}
    }

Relative flow paths are read from the configuration file's folder. Secrets are named (``token_env``),
never written in the file.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from nbflow.cron.schedule import ScheduleSpec
from nbflow.exceptions import ConfigError
from nbflow.model.spec import BudgetSpec
from nbflow.model.validation import parse_config
from nbflow.ops.alerts import AlertRule
from nbflow.ops.notices import NoticeConfig
from nbflow.providers.netguard import AllowList
from nbflow.providers.secrets import Secrets
from nbflow.server.auth import Auth

__all__ = ["DEFAULT_HMAC_ENV", "DEFAULT_TOKEN_ENV", "AuthConfig", "ServeConfig"]

DEFAULT_TOKEN_ENV = "NBFLOW_SERVE_TOKEN"
DEFAULT_HMAC_ENV = "NBFLOW_SERVE_HMAC_SECRET"


class AuthConfig(BaseModel):
    """Where the server's credentials come from (names of secrets, never values)."""

    model_config = ConfigDict(extra="forbid")

    token_env: str | None = Field(default=None, description="Secret holding the bearer token (default "
                                  f"{DEFAULT_TOKEN_ENV}, when set).")
    hmac_env: str | None = Field(default=None, description="Secret holding the HMAC signing key (default "
                                 f"{DEFAULT_HMAC_ENV}, when set).")
    hmac_window: float = Field(default=300.0, gt=0, description="Seconds a signature's timestamp may be off.")
    disabled: bool = Field(default=False, description="Serve without auth (only for a trusted network).")

    def build(self, secrets: Secrets | None = None) -> Auth:
        """Resolve the secrets into an :class:`Auth`; ConfigError when none is available."""
        secrets = secrets or Secrets()
        if self.disabled:
            return Auth()
        token = self._resolve(secrets, self.token_env, DEFAULT_TOKEN_ENV, "token_env")
        key = self._resolve(secrets, self.hmac_env, DEFAULT_HMAC_ENV, "hmac_env")
        if token is None and key is None:
            raise ConfigError(f"no credentials for the server: set {DEFAULT_TOKEN_ENV} (a bearer token) or "
                              f"{DEFAULT_HMAC_ENV} (an HMAC key), name another secret with --token-env, or pass "
                              "--insecure-no-auth")
        return Auth(token=token, hmac_secret=key, window=self.hmac_window)

    @staticmethod
    def _resolve(secrets: Secrets, named: str | None, default: str, field: str) -> str | None:
        value = secrets.get(named or default)
        if named and value is None:
            raise ConfigError(f"auth.{field}: secret {named} is not set (set the environment variable "
                              f"{named} or add it to .env)")
        return value


class ServeConfig(BaseModel):
    """Everything ``nbflow serve`` needs."""

    model_config = ConfigDict(extra="forbid")

    flows: list[str] = Field(default_factory=list, description="Flow files to serve.")
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=0, le=65535)
    auth: AuthConfig = Field(default_factory=AuthConfig)
    max_body: int = Field(default=1 << 20, gt=0, description="Largest request body in bytes.")
    max_concurrent_runs: int = Field(default=32, ge=1, description="Runs executing at once; more wait.")
    wait_timeout: float = Field(default=300.0, gt=0, description="Longest a ?wait=true request waits.")
    store: str | None = Field(default=None, description="Run store: a postgresql:// URL or a SQLite file; default: "
                                "$NBFLOW_STORE, else the nbflow home.")
    cache: bool | str = Field(default=False, description="Reuse node results across runs with equal inputs "
                              "from the persistent cache: true for <nbflow home>/cache, or a folder.")
    executor: str | None = Field(default=None, description="Where accepted runs execute: dask://HOST:PORT for a "
                                 "Dask cluster (needs a shared store); default: in the server process.")
    public_metrics: bool = Field(default=False, description="Serve GET /metrics without credentials (for a "
                                 "scraper on a private network).")
    resume_interrupted: bool = Field(default=False, description="On start, resume the runs of served flows "
                                     "whose process died (they are marked interrupted either way).")
    schedules: list[ScheduleSpec] = Field(default_factory=list)
    alerts: list[AlertRule] = Field(default_factory=list)
    budget: BudgetSpec | None = Field(default=None, description="Cost caps for every run the server starts or "
                                      "resumes (the lower of these and a flow's own caps holds); key_day is "
                                      "per caller key (see docs/control.md#budgets).")
    notices: NoticeConfig | None = Field(default=None, description="Tell reviewers when a run pauses for "
                                         "approval (webhook and/or email), with signed one-time links.")
    allow_hosts: list[str] = Field(default_factory=list, description="Internal hosts and networks that "
                                   "image and file input URLs may point at (localhost, files.internal:8080, "
                                   "10.0.0.0/8, *); all others must be public addresses.")
    base_dir: str | None = Field(default=None, description="Folder relative paths are read from.")

    @field_validator("allow_hosts")
    @classmethod
    def _check_allow_hosts(cls, v: list[str]) -> list[str]:
        try:
            AllowList.parse(v, where="allow_hosts")
        except ConfigError as exc:
            raise ValueError(str(exc).removeprefix("allow_hosts: ")) from None
        return v

    @classmethod
    def load(cls, path: str | Path) -> ServeConfig:
        """Read a JSON configuration file; ConfigError naming the file and field."""
        p = Path(path)
        try:
            data = json.loads(p.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise ConfigError(f"{p}: no such configuration file") from None
        except (OSError, UnicodeDecodeError) as exc:
            raise ConfigError(f"{p}: cannot read: {exc}") from None
        except json.JSONDecodeError as exc:
            raise ConfigError(f"{p}: not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}") from None
        if not isinstance(data, dict):
            raise ConfigError(f"{p}: the configuration must be a JSON object")
        data.setdefault("base_dir", str(p.resolve().parent))
        return cls.parse(data, where=str(p))

    @classmethod
    def parse(cls, data: Any, *, where: str = "serve configuration") -> ServeConfig:
        """Validate from JSON; ConfigError naming the field."""
        return parse_config(cls, data, where=where, whole="configuration")

    def path(self, p: str) -> Path:
        """A path from the configuration, relative to its file."""
        q = Path(p).expanduser()
        return q if q.is_absolute() or self.base_dir is None else Path(self.base_dir) / q
