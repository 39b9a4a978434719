"""The providers a run hands its nodes, made when a node first asks for them.

Most runs of plain nodes (text, data, control) call no provider and read no secret, so a run does not
load the provider catalog (clients, secrets, built-in factories) until a node asks ``ctx`` for a
provider, a secret or the HTTP clients, or a node's ``preflight`` checks a key.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from nbflow.providers.catalog import Providers

__all__ = ["RunProviders"]


class RunProviders:
    """One run's providers: those given, else ``make()`` (default: new :class:`Providers`) on first use.

    What the providers' secrets managers answer is kept until the run ends (``Secrets.run_scope``):
    from the start for given providers, from the moment they are made otherwise.
    """

    def __init__(self, given: Providers | None = None, make: Callable[[], Providers] | None = None) -> None:
        self._providers = given
        self._make = make
        self._scopes: contextlib.ExitStack | None = None

    def get(self) -> Providers:
        if self._providers is None:
            if self._make is not None:
                self._providers = self._make()
            else:
                from nbflow.providers.catalog import Providers

                self._providers = Providers()
            if self._scopes is not None:
                self._scopes.enter_context(self._providers.secrets.run_scope())
        return self._providers

    @contextlib.contextmanager
    def run_scope(self) -> Iterator[None]:
        """Around a run: the secrets' run scope of these providers, whenever they are made."""
        with contextlib.ExitStack() as self._scopes:
            if self._providers is not None:
                self._scopes.enter_context(self._providers.secrets.run_scope())
            try:
                yield
            finally:
                self._scopes = None
