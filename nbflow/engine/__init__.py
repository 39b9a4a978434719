"""The engine: compile a flow to a plan, run it with a ready-queue scheduler under policies."""

from nbflow.engine.cache import MemoryCache
from nbflow.engine.execute import Execution, Pause
from nbflow.engine.plan import Plan, compile_flow
from nbflow.engine.policies import Policy, Retry
from nbflow.engine.sync import RunHandle, run_sync
from nbflow.model.events import Event
from nbflow.model.record import NodeRecord, RunResult

__all__ = [
    "Event",
    "Execution",
    "MemoryCache",
    "NodeRecord",
    "Pause",
    "Plan",
    "Policy",
    "Retry",
    "RunHandle",
    "RunResult",
    "compile_flow",
    "run_sync",
]
