"""nbflow: build AI workflows on a canvas in Jupyter; run the same JSON file headlessly in production.

    import nbflow
    flow = nbflow.load("examples/product_copy.json")
    result = flow.run(product="a ceramic teapot")
    result.outputs["copy"]

The headless path (this module, the engine, the providers, the CLI) never imports ipywidgets or
ipycanvas; ``nbflow.Editor`` loads them on first use. ``__all__`` is the public API, listed with a line
each in docs/api.md (a test keeps the two equal).
"""

from nbflow.lazy import lazy_attrs as _lazy_attrs

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (deleted below: not a public name)
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


def run(flow: "str | Flow", inputs: "dict[str, Any] | None" = None, /, **kwargs: "Any") -> "RunResult":
    """Load (if given a path) and run a flow synchronously: ``nbflow.run("flow.json", topic="x")``."""
    from nbflow.flow import Flow, load

    f = flow if isinstance(flow, Flow) else load(flow)
    return f.run(inputs, **kwargs)


#: Where each public name lives. ``import nbflow`` imports none of these modules (not even asyncio or
#: the engine): a name imports its module on first use, so the engine loads with the first ``nbflow.Flow``,
#: and the run history, cassettes, pydantic's ``Params`` or the provider settings only when asked for.
#: ``nbflow.<subpackage>`` imports that subpackage on first use too.
_lazy_getattr, __dir__ = _lazy_attrs(globals(), {
    "nbflow.caching": ("use_cache",),
    "nbflow.engine.diskcache": ("DiskCache",),
    "nbflow.engine.policies": ("Retry",),
    "nbflow.engine.sync": ("RunHandle",),
    "nbflow.evaluate": ("Comparison", "TestReport", "compare", "evaluate"),
    "nbflow.exceptions": ("BudgetError", "CassetteError", "CassetteMiss", "ClaimError", "ConfigError",
                          "CycleError", "FlowError", "FlowFormatError", "InputError", "MediaError",
                          "NbflowError", "NodeError", "ParamError", "ProviderError", "ResumeError",
                          "RunCancelled", "SecretError", "StoreError", "UnknownNodeTypeError", "UsageError",
                          "WiringError"),
    "nbflow.flow": ("Flow", "load"),
    "nbflow.model.events": ("Event",),
    "nbflow.model.record": ("NodeRecord", "RunResult"),
    "nbflow.model.values": ("Media",),
    "nbflow.nodes.nodetype": ("NodeContext", "NodeType", "Pause", "Port"),
    "nbflow.nodes.params": ("Params",),
    "nbflow.nodes.registry": ("registry",),
    "nbflow.providers.awssecrets": ("AwsSecrets",),
    "nbflow.providers.cassette": ("cassette",),
    "nbflow.providers.pricing": ("set_price",),
    "nbflow.providers.profiles": ("set_active_env",),
    "nbflow.providers.ratelimit": ("set_rate_limit",),
    "nbflow.providers.secrets": ("Secrets",),
    "nbflow.providers.vault": ("VaultSecrets",),
    "nbflow.recording": ("use_store",),
    "nbflow.resume_runs": ("resume", "resume_expired"),
    "nbflow.resuming": ("pending_approvals",),
    "nbflow.store": ("RunStore", "open_store"),
}, submodules=True)


def __getattr__(name: str) -> "Any":
    if name == "Editor":  # the only name that needs ipywidgets/ipycanvas: a front end, reached by name
        import importlib

        from nbflow.flow import EDITOR

        module, _, attr = EDITOR.partition(":")
        return getattr(importlib.import_module(module), attr)
    return _lazy_getattr(name)

if TYPE_CHECKING:
    from typing import Any

    from nbflow.caching import use_cache
    from nbflow.engine.diskcache import DiskCache
    from nbflow.engine.policies import Retry
    from nbflow.engine.sync import RunHandle
    from nbflow.evaluate import Comparison, TestReport, compare, evaluate
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
    from nbflow.nodes.params import Params
    from nbflow.nodes.registry import registry
    from nbflow.providers.awssecrets import AwsSecrets
    from nbflow.providers.cassette import cassette
    from nbflow.providers.pricing import set_price
    from nbflow.providers.profiles import set_active_env
    from nbflow.providers.ratelimit import set_rate_limit
    from nbflow.providers.secrets import Secrets
    from nbflow.providers.vault import VaultSecrets
    from nbflow.recording import use_store
    from nbflow.resume_runs import resume, resume_expired
    from nbflow.resuming import pending_approvals
    from nbflow.store import RunStore, open_store

del TYPE_CHECKING
