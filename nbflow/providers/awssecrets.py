"""AWS Secrets Manager as a secrets store: one secret (a JSON object of name -> value) holds a flow's keys.

Uses boto3 (``pip install 'nbflow[aws]'``) with its usual configuration: credentials from the
environment, ``~/.aws`` or an instance role, ``AWS_REGION`` / ``AWS_DEFAULT_REGION``, and
``AWS_ENDPOINT_URL`` (or ``AWS_ENDPOINT_URL_SECRETS_MANAGER``) for a local endpoint. The secret is
read with ``GetSecretValue`` once, on the first lookup of a run, and kept until
:meth:`AwsSecrets.forget` (called when the run ends). A ``SecretString`` that is a JSON object maps
names to values, as the console's key/value secrets do; any other string is the value of the name
that ends the secret id (``aws:prod/OPENAI_API_KEY``). Values are registered for redaction and never
logged.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from nbflow.exceptions import SecretError
from nbflow.providers.profiles import active_env
from nbflow.redaction import remember_secret

__all__ = ["AwsSecrets"]


@contextmanager
def _botocore_quiet() -> Iterator[None]:
    """botocore logs whole response bodies at DEBUG, secret values included: not while we fetch one."""
    log = logging.getLogger("botocore")
    before = log.level
    log.setLevel(max(logging.INFO, before))
    try:
        yield
    finally:
        log.setLevel(before)


class AwsSecrets:
    """Secrets from one AWS Secrets Manager secret, e.g. ``AwsSecrets("nbflow/{env}")``.

    Args:
        secret_id: the secret's name or ARN; ``{env}`` becomes the active profile (``default`` when none).
        client: a boto3 ``secretsmanager`` client (default: made on first use from the environment).
    """

    def __init__(self, secret_id: str, *, client: Any = None) -> None:
        self.secret_id = secret_id
        self._client = client
        self._cache: dict[str, dict[str, str]] = {}

    def __repr__(self) -> str:
        return f"AwsSecrets({self.secret_id})"

    def _boto(self) -> Any:
        if self._client is None:
            try:
                import boto3
            except ImportError:
                raise SecretError("AWS Secrets Manager needs boto3: pip install 'nbflow[aws]'") from None
            self._client = boto3.client("secretsmanager")
        return self._client

    def resolved_id(self) -> str:
        return self.secret_id.replace("{env}", active_env() or "default")

    def _read(self, secret_id: str) -> dict[str, str]:
        client = self._boto()
        try:
            with _botocore_quiet():
                resp = client.get_secret_value(SecretId=secret_id)
        except client.exceptions.ResourceNotFoundException:
            return {}
        except Exception as exc:  # botocore's ClientError, NoCredentialsError, EndpointConnectionError...
            code = getattr(exc, "response", {}).get("Error", {}).get("Code") or type(exc).__name__
            raise SecretError(f"AWS Secrets Manager {secret_id}: {code}") from None
        text = resp.get("SecretString")
        if text is None:
            raise SecretError(f"AWS Secrets Manager {secret_id}: a binary secret; store the keys as a string")
        try:
            data = json.loads(text)
        except ValueError:
            data = None
        if isinstance(data, dict):
            values = {str(k): str(v) for k, v in data.items() if v is not None}
        else:
            values = {secret_id.rsplit("/", 1)[-1]: text}
        for v in values.values():
            remember_secret(v)
        return values

    def get(self, name: str) -> str | None:
        sid = self.resolved_id()
        if sid not in self._cache:
            self._cache[sid] = self._read(sid)
        return self._cache[sid].get(name) or None

    def forget(self) -> None:
        """Drop what was read; the next lookup reads the secret again."""
        self._cache.clear()
