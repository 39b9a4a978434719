"""The flow file format: specs, port types, media values, JSON io and migrations."""

from nbflow.model.io import dumps_spec, loads_spec, migrate, read_spec
from nbflow.model.spec import FORMAT_VERSION, EdgeSpec, FlowSpec, NodeSpec, PolicySpec, RetrySpec
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
