"""nbflow: build AI workflows on a canvas in Jupyter; run the same JSON file headlessly in production.

    import nbflow
    flow = nbflow.load("examples/product_copy.json")
    result = flow.run(product="a ceramic teapot")
    result.outputs["copy"]

The headless path (this module, the engine, the providers, the CLI) never imports ipywidgets or
ipycanvas; ``nbflow.Editor`` loads them on first use. ``__all__`` is the public API, listed with a line
each in docs/api.md (a test keeps the two equal).
"""

import typing as _typing

from nbflow.caching import use_cache
from nbflow.engine.policies import Retry
from nbflow.engine.sync import RunHandle
from nbflow.exceptions import (
    BudgetError,
    CassetteError,
    CassetteMiss,
    ClaimError,
    ConfigError,
    CycleError,
    FlowError,
    FlowFormatError,
    InputError,
    MediaError,
    NbflowError,
    NodeError,
    ParamError,
    ProviderError,
    ResumeError,
    RunCancelled,
    SecretError,
    StoreError,
    UnknownNodeTypeError,
    UsageError,
    WiringError,
)
from nbflow.flow import Flow, load
from nbflow.model.events import Event
from nbflow.model.record import NodeRecord, RunResult
from nbflow.model.values import Media
from nbflow.nodes.nodetype import NodeContext, NodeType, Pause, Port
from nbflow.nodes.registry import registry
from nbflow.resume_runs import resume, resume_expired

__version__ = "0.1.0"

__all__ = [
    "AwsSecrets",
    "BudgetError",
    "CassetteError",
    "CassetteMiss",
    "ClaimError",
    "Comparison",
    "ConfigError",
    "CycleError",
    "DiskCache",
    "Editor",
    "Event",
    "Flow",
    "FlowError",
    "FlowFormatError",
    "InputError",
    "Media",
    "MediaError",
    "NbflowError",
    "NodeContext",
    "NodeError",
    "NodeRecord",
    "NodeType",
    "ParamError",
    "Params",
    "Pause",
    "Port",
    "ProviderError",
    "ResumeError",
    "Retry",
    "RunCancelled",
    "RunHandle",
    "RunResult",
    "RunStore",
    "SecretError",
    "Secrets",
    "StoreError",
    "TestReport",
    "UnknownNodeTypeError",
    "UsageError",
    "VaultSecrets",
    "WiringError",
    "__version__",
    "cassette",
    "compare",
    "evaluate",
    "load",
    "open_store",
    "pending_approvals",
    "registry",
    "resume",
    "resume_expired",
    "run",
    "set_active_env",
    "set_price",
    "set_rate_limit",
    "use_cache",
    "use_store",
]


def run(flow: "str | Flow", inputs: "dict[str, _typing.Any] | None" = None, /, **kwargs: _typing.Any) -> RunResult:
    """Load (if given a path) and run a flow synchronously: ``nbflow.run("flow.json", topic="x")``."""
    f = flow if isinstance(flow, Flow) else load(flow)
    return f.run(inputs, **kwargs)


#: Names imported on first use, so ``import nbflow`` loads only what a run needs: the run history
#: (SQLite and its models) waits until someone asks for it, cassettes need httpx, ``Params`` is a
#: pydantic model (pydantic loads with the first flow or params class), and the provider settings load
#: the provider catalog.
_LAZY = {"RunStore": "nbflow.store", "open_store": "nbflow.store", "pending_approvals": "nbflow.resuming",
         "use_store": "nbflow.recording", "cassette": "nbflow.providers.cassette", "compare": "nbflow.evaluate",
         "evaluate": "nbflow.evaluate", "Comparison": "nbflow.evaluate", "TestReport": "nbflow.evaluate",
         "DiskCache": "nbflow.engine.diskcache", "Params": "nbflow.nodes.params",
         "AwsSecrets": "nbflow.providers.awssecrets", "set_price": "nbflow.providers.pricing",
         "set_active_env": "nbflow.providers.profiles", "set_rate_limit": "nbflow.providers.ratelimit",
         "Secrets": "nbflow.providers.secrets", "VaultSecrets": "nbflow.providers.vault"}


def __getattr__(name: str) -> _typing.Any:
    import importlib

    if name == "Editor":  # the only name that needs ipywidgets/ipycanvas: a front end, reached by name
        from nbflow.flow import EDITOR

        module, _, attr = EDITOR.partition(":")
        return getattr(importlib.import_module(module), attr)
    lazy = _LAZY.get(name)
    if lazy is None:
        raise AttributeError(f"module 'nbflow' has no attribute {name!r}")
    value = getattr(importlib.import_module(lazy), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})


if _typing.TYPE_CHECKING:
    from nbflow.engine.diskcache import DiskCache
    from nbflow.nodes.params import Params
    from nbflow.providers.awssecrets import AwsSecrets
    from nbflow.providers.pricing import set_price
    from nbflow.providers.profiles import set_active_env
    from nbflow.providers.ratelimit import set_rate_limit
    from nbflow.providers.secrets import Secrets
    from nbflow.providers.vault import VaultSecrets
    from nbflow.recording import use_store
    from nbflow.resuming import pending_approvals
    from nbflow.store import RunStore, open_store
