"""HashiCorp Vault (and OpenBao) KV version 2 as a secrets store: one secret path holds a flow's keys.

Wire format (Vault HTTP API v1, KV secrets engine version 2): ``GET {addr}/v1/{mount}/data/{path}``
with ``X-Vault-Token`` (and ``X-Vault-Namespace`` on Vault Enterprise / HCP) answers ``{"data":
{"data": {name: value, ...}, "metadata": {...}}}``; 404 means the path holds nothing. The address
and token follow Vault's own conventions: ``VAULT_ADDR``, ``VAULT_TOKEN`` (else the ``~/.vault-token``
file the ``vault login`` command writes), ``VAULT_NAMESPACE``.

The path is read once, on the first lookup of a run, and kept until :meth:`VaultSecrets.forget`
(called when the run ends). Values and the token are registered for redaction and never logged.
No client library is needed: the request is one GET.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from nbflow.exceptions import SecretError
from nbflow.providers.profiles import active_env
from nbflow.redaction import remember_secret

if TYPE_CHECKING:
    import httpx

__all__ = ["VaultSecrets"]


class VaultSecrets:
    """Secrets from one KV v2 path, e.g. ``VaultSecrets("nbflow/{env}")`` on the mount ``secret``.

    Args:
        path: the secret's path inside the mount; ``{env}`` becomes the active profile
            (``default`` when none is set).
        mount: where the KV v2 engine is mounted (``secret`` on a dev server).
        addr: server address; default ``VAULT_ADDR``.
        token: default ``VAULT_TOKEN`` or ``~/.vault-token``.
        namespace: default ``VAULT_NAMESPACE``.
        transport: an httpx transport (tests).
    """

    def __init__(self, path: str, *, mount: str = "secret", addr: str | None = None, token: str | None = None,
                 namespace: str | None = None, timeout: float = 10.0,
                 transport: httpx.BaseTransport | None = None) -> None:
        self.path = path.strip("/")
        self.mount = mount.strip("/")
        self._addr = addr
        self._token = token
        self._namespace = namespace
        self._timeout = timeout
        self._transport = transport
        self._cache: dict[str, dict[str, str]] = {}

    def __repr__(self) -> str:
        return f"VaultSecrets({self.mount}/{self.path})"

    @property
    def addr(self) -> str:
        return (self._addr or os.environ.get("VAULT_ADDR") or "http://127.0.0.1:8200").rstrip("/")

    def _token_value(self) -> str:
        token = self._token or os.environ.get("VAULT_TOKEN")
        if not token:
            file = Path.home() / ".vault-token"
            token = file.read_text().strip() if file.is_file() else None
        if not token:
            raise SecretError(f"{self!r}: no Vault token (set VAULT_TOKEN or run 'vault login')")
        remember_secret(token)
        return token

    def resolved_path(self) -> str:
        return self.path.replace("{env}", active_env() or "default")

    def _read(self, path: str) -> dict[str, str]:
        import httpx  # here, so importing nbflow.providers stays cheap

        url = f"{self.addr}/v1/{quote(self.mount)}/data/{quote(path)}"
        headers = {"x-vault-token": self._token_value()}
        ns = self._namespace or os.environ.get("VAULT_NAMESPACE")
        if ns:
            headers["x-vault-namespace"] = ns
        where = f"Vault {self.mount}/{path}"
        try:
            with httpx.Client(transport=self._transport, timeout=self._timeout) as client:
                resp = client.get(url, headers=headers)
        except httpx.HTTPError as exc:
            raise SecretError(f"{where}: cannot reach {self.addr} ({type(exc).__name__})") from None
        if resp.status_code == 404:
            return {}
        if resp.status_code in (401, 403):
            raise SecretError(f"{where}: permission denied (check the token and its policy)")
        if resp.status_code >= 400:
            raise SecretError(f"{where}: the server answered HTTP {resp.status_code}")
        try:
            data: Any = resp.json()["data"]["data"]
        except (ValueError, KeyError, TypeError):
            raise SecretError(f"{where}: not a KV version 2 secret (is the mount KV v2?)") from None
        values = {str(k): str(v) for k, v in (data or {}).items() if v is not None}
        for v in values.values():
            remember_secret(v)
        return values

    def get(self, name: str) -> str | None:
        path = self.resolved_path()
        if path not in self._cache:
            self._cache[path] = self._read(path)
        return self._cache[path].get(name) or None

    def forget(self) -> None:
        """Drop what was read; the next lookup reads the path again."""
        self._cache.clear()
