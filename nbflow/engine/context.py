"""The ``ctx`` a running node receives: everything a node may ask of the engine, and nothing more.

Implements :class:`nbflow.nodes.nodetype.NodeContext` for one attempt of one node of an
:class:`~nbflow.engine.execute.Execution`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, NoReturn

from nbflow.engine.budget import BudgetedProvider
from nbflow.engine.policies import Policy
from nbflow.model.record import NodeRecord, value_to_json
from nbflow.nodes.nodetype import Pause

if TYPE_CHECKING:
    from nbflow.providers.clients import HttpClients

__all__ = ["NodeRunContext"]

_NO_POLICY = Policy()


class NodeRunContext:
    """The ``ctx`` a node's ``run`` receives (implements :class:`nbflow.nodes.nodetype.NodeContext`)."""

    __slots__ = ("_exec", "_rec", "attempt", "node_id", "policy", "resume", "run_id")

    def __init__(self, ex: Any, node_id: str, rec: NodeRecord, attempt: int,
                 resume: dict[str, Any] | None = None, policy: Policy | None = None) -> None:
        self._exec = ex
        self._rec = rec
        self.policy = policy or _NO_POLICY
        self.run_id = ex.run_id
        self.node_id = node_id
        self.attempt = attempt
        self.resume = resume

    def progress(self, fraction: float | None = None, message: str = "") -> None:
        self._exec.emit("progress", self.node_id, {"fraction": fraction, "message": message})

    def partial(self, port: str, value: Any) -> None:
        self._exec.emit("partial", self.node_id, {"port": port, "value": value_to_json(value)})

    def add_usage(self, *, provider: str, model: str, input_tokens: int = 0, output_tokens: int = 0,
                  cost: float | None = None, **extra: Any) -> None:
        entry: dict[str, Any] = {"provider": provider, "model": model}
        if input_tokens:
            entry["input_tokens"] = input_tokens
        if output_tokens:
            entry["output_tokens"] = output_tokens
        entry.update({k: v for k, v in extra.items() if v})
        if cost is None:
            cost = self._exec.price(entry)
        entry["cost"] = round(cost, 8)
        self._rec.usage.append(entry)
        self._rec.cost += cost

    @property
    def request_timeout(self) -> float | None:
        return self.policy.request_timeout

    @property
    def attempt_timeout(self) -> float | None:
        return self.policy.timeout

    @property
    def clients(self) -> HttpClients:
        return self._exec.providers.clients

    def provider(self, name: str, **config: Any) -> Any:
        # The policy's request timeout and rate limit win over the node type's defaults in ``config``.
        inner = self._exec.providers.get(name, node_id=self.node_id, **{**config, **self.policy.client_config()})
        guard = self._exec.budget
        if guard is None:
            return inner
        from nbflow.providers.estimate import EstimatingProvider

        if isinstance(inner, EstimatingProvider):  # an estimate's dry run spends nothing
            return inner
        # A decision lets calls past a cap only when this node had paused at one (not for its own approval).
        restored = getattr(self._exec, "_restore", None)
        prev = restored.nodes.get(self.node_id) if restored is not None else None
        at_cap = prev is not None and isinstance(prev.pause, dict) and "budget" in prev.pause
        return BudgetedProvider(inner, guard, node=self.node_id, price=self._exec.price,
                                resume=self.resume if at_cap else None)

    def secret(self, name: str) -> str:
        return self._exec.providers.secrets.require(name, node=self.node_id)

    def graph_input(self, name: str) -> tuple[bool, Any]:
        given = self._exec.given
        return (True, given[name]) if name in given else (False, None)

    def log(self, message: str) -> None:
        self._exec.emit("progress", self.node_id, {"fraction": None, "message": message})

    def pause(self, reason: str, data: dict[str, Any] | None = None) -> NoReturn:
        raise Pause(reason, data)

    def run_subflow(self, plan: Any, inputs: dict[str, Any]) -> Any:
        """Run another plan as part of this node (sub-flows, loops, map); returns an awaitable result."""
        return self._exec.subflow(plan, inputs)
