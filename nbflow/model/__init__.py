"""The flow file format: specs, port types, media values, JSON io and migrations.

The flow-file models need pydantic, so their names load on first use (``import nbflow`` and the
engine never need them before a flow is built or read).
"""

from typing import TYPE_CHECKING

from nbflow.lazy import lazy_attrs
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

__getattr__, __dir__ = lazy_attrs(globals(), {
    ".io": ("dumps_spec", "loads_spec", "migrate", "read_spec"),
    ".spec": ("FORMAT_VERSION", "EdgeSpec", "FlowSpec", "NodeSpec", "PolicySpec", "RetrySpec"),
})


if TYPE_CHECKING:
    from nbflow.model.io import dumps_spec, loads_spec, migrate, read_spec
    from nbflow.model.spec import FORMAT_VERSION, EdgeSpec, FlowSpec, NodeSpec, PolicySpec, RetrySpec
