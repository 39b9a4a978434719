"""Provider lookup by name: ``register_provider(name, factory)`` and the per-flow :class:`Providers`."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from nbflow.exceptions import ParamError
from nbflow.providers.clients import DEFAULT_CLIENTS, HttpClients
from nbflow.providers.provider import Provider
from nbflow.providers.secrets import Secrets

__all__ = ["ProviderFactory", "Providers", "known_providers", "register_provider"]

#: ``factory(config, secrets, node_id) -> Provider``; config holds base_url, api_key_env, timeout, rpm,
#: tpm, max_concurrency (each when set) and ``clients``: the run's
#: :class:`~nbflow.providers.clients.HttpClients`, which an HTTP client must send through.
ProviderFactory = Callable[[dict[str, Any], Secrets, str], Provider]

_FACTORIES: dict[str, ProviderFactory] = {}


def register_provider(name: str, factory: ProviderFactory) -> None:
    """Make provider ``name`` available to node params."""
    _FACTORIES[name] = factory


def known_providers() -> list[str]:
    """The names of every registered provider, sorted."""
    return sorted(_FACTORIES)


def _offline(config: dict[str, Any], secrets: Secrets, node_id: str) -> Provider:
    from nbflow.providers.offline import OfflineProvider

    return OfflineProvider()


register_provider("offline", _offline)


def _register_builtins() -> None:
    from nbflow.providers.builtin import register_builtin_providers

    register_builtin_providers(register_provider)


_register_builtins()


class Providers:
    """Resolves provider names to clients for one flow.

    A client is made on every lookup, so keys are resolved at run time (a key set or rotated between
    runs is picked up) and a missing key fails at once. Making one is cheap: what is worth sharing,
    the HTTP connection pool and the rate limiter, is shared process-wide by the HTTP layer.

    Args:
        secrets: where keys are looked up.
        transport: an ``httpx`` transport every HTTP call of these providers goes through (tests:
            ``httpx.MockTransport``); a shorthand for ``clients=HttpClients(transport)``.
        clients: where HTTP clients come from (default: the real network); see
            :mod:`nbflow.providers.clients`.

    Attributes:
        secrets: where keys are looked up.
        clients: the HTTP client factory every provider of this object uses.
        overrides: provider name -> client to use instead (tests, ``nbflow run --estimate``).
    """

    def __init__(self, secrets: Secrets | None = None, *, transport: Any = None,
                 clients: HttpClients | None = None) -> None:
        self.secrets = secrets or Secrets()
        if clients is None:
            clients = HttpClients(transport) if transport is not None else DEFAULT_CLIENTS
        self.clients = clients
        self.overrides: dict[str, Provider] = {}

    def get(self, name: str, *, node_id: str = "", **config: Any) -> Provider:
        """The client for provider ``name`` with ``config`` (base_url, api_key_env, rpm, ...)."""
        if name in self.overrides:
            return self.overrides[name]
        factory = _FACTORIES.get(name)
        if factory is None:
            from nbflow.providers.models import did_you_mean

            raise ParamError(f"unknown provider {name!r}{did_you_mean(name, sorted(_FACTORIES))}",
                             node=node_id or None, field="params.provider")
        given = {k: v for k, v in config.items() if v is not None}
        return factory({**given, "clients": self.clients}, self.secrets, node_id)

    def known(self) -> list[str]:
        return sorted(_FACTORIES)

    def __repr__(self) -> str:
        return f"<Providers {sorted(_FACTORIES)} {self.secrets!r}>"

    async def aclose(self) -> None:
        """Close the pooled HTTP connections of the running event loop."""
        from nbflow.providers.clients import aclose_clients

        await aclose_clients()
