"""The flow file format: specs, port types, media values, JSON io and migrations.

The flow-file models need pydantic, so their names load on first use (``import nbflow`` and the
engine never need them before a flow is built or read).
"""

from typing import TYPE_CHECKING, Any

from nbflow.model.values import Media

__all__ = [
    "FORMAT_VERSION",
    "EdgeSpec",
    "FlowSpec",
    "Media",
    "NodeSpec",
    "PolicySpec",
    "RetrySpec",
    "dumps_spec",
    "loads_spec",
    "migrate",
    "read_spec",
]

_LAZY = {"dumps_spec": "io", "loads_spec": "io", "migrate": "io", "read_spec": "io", "FORMAT_VERSION": "spec",
         "EdgeSpec": "spec", "FlowSpec": "spec", "NodeSpec": "spec", "PolicySpec": "spec", "RetrySpec": "spec"}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'nbflow.model' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(f"nbflow.model.{module}"), name)
    globals()[name] = value
    return value


if TYPE_CHECKING:
    from nbflow.model.io import dumps_spec, loads_spec, migrate, read_spec
    from nbflow.model.spec import FORMAT_VERSION, EdgeSpec, FlowSpec, NodeSpec, PolicySpec, RetrySpec
