"""Every error nbflow raises on purpose.

The tree::

    NbflowError                      root: catch this to catch everything nbflow means to raise
    ├── FlowError                    the flow file or flow object is invalid (CLI exit code 2)
    │   ├── FlowFormatError          not JSON, wrong shape, unsupported format version
    │   ├── UnknownNodeTypeError     a node names a type the registry does not know
    │   ├── ParamError               a node's params do not validate
    │   ├── WiringError              an edge names a missing node or port, or types do not connect
    │   └── CycleError               the graph has a cycle
    │   └── InputError               a graph input is missing or has a bad value
    │       └── MediaError           bytes that are not a supported media type, or too large
    ├── SecretError                  a secret reference cannot be resolved, or a literal key was found
    ├── NodeError                    a node failed while running (exit code 1)
    │   ├── ProviderError            a provider API call failed (carries status and retryability)
    │   ├── BudgetError              a provider call was refused: it would pass a cost cap (never retried)
    │   └── CassetteMiss             a replayed run sent a request its cassette has no answer for
    ├── CassetteError                a cassette file cannot be read (CLI exit code 2)
    ├── RunCancelled                 a run was stopped
    ├── UsageError                   a command was asked something it cannot do (exit code 2)
    ├── StoreError                   the run store cannot load or save a run
    ├── ResumeError                  a run cannot be resumed as asked (already succeeded, no such approval)
    │   └── ClaimError               another process holds the run (it runs, decides or resumes it)
    └── ConfigError                  a server, schedule, batch or alert setting is invalid (exit code 2)
        └── MissingExtraError        a command needs an optional extra that is not installed

Each error's message is one line that says what is wrong and where (node id, port, field),
so the CLI can print it as it is.
"""

from __future__ import annotations

from nbflow.redaction import redact

__all__ = [
    "BudgetError",
    "CassetteError",
    "CassetteMiss",
    "ClaimError",
    "ConfigError",
    "CycleError",
    "FlowError",
    "FlowFormatError",
    "InputError",
    "MediaError",
    "MissingExtraError",
    "NbflowError",
    "NodeError",
    "ParamError",
    "ProviderError",
    "ResumeError",
    "RunCancelled",
    "SecretError",
    "StoreError",
    "UnknownNodeTypeError",
    "UsageError",
    "WiringError",
]


class NbflowError(Exception):
    """Root of every error nbflow raises on purpose. Messages never carry secret values."""

    exit_code: int = 1

    def __init__(self, *args: object) -> None:
        super().__init__(*(redact(a) if isinstance(a, str) else a for a in args))


class FlowError(NbflowError):
    """The flow is invalid. `source` names the file when there is one."""

    exit_code = 2

    def __init__(self, message: str, *, source: str | None = None, node: str | None = None,
                 port: str | None = None, field: str | None = None) -> None:
        self.message = redact(message)
        self.source = source
        self.node = node
        self.port = port
        self.field = field
        super().__init__(self.message)

    def __str__(self) -> str:
        where = []
        if self.node is not None:
            where.append(f"node {self.node!r}")
        if self.port is not None:
            where.append(f"port {self.port!r}")
        if self.field is not None:
            where.append(f"field {self.field!r}")
        prefix = f"{self.source}: " if self.source else ""
        loc = (" ".join(where) + ": ") if where else ""
        return f"{prefix}{loc}{self.message}"

    def with_source(self, source: str) -> FlowError:
        """Return the same error naming the file it came from."""
        if self.source is None:
            self.source = source
        return self


class FlowFormatError(FlowError):
    """The file is not JSON, has the wrong shape or an unsupported format version."""


class UnknownNodeTypeError(FlowError):
    """A node names a type that no installed package provides."""


class ParamError(FlowError):
    """A node's params do not validate against its params model."""


class WiringError(FlowError):
    """An edge names a missing node or port, or its two ends have incompatible types."""


class CycleError(FlowError):
    """The graph has a cycle; loops are expressed with the `loop` node instead."""


class InputError(FlowError):
    """A graph input is missing or cannot be read as its declared type."""


class MediaError(InputError):
    """Bytes that are not a supported media type, or a file over the size limit."""


class SecretError(NbflowError):
    """A secret reference cannot be resolved, or a literal secret was found where a reference belongs."""

    exit_code = 2


class NodeError(NbflowError):
    """A node failed while running.

    Attributes:
        node: the node id.
        attempts: how many attempts were made.
        retryable: whether a retry policy may try again.
    """

    exit_code = 1

    def __init__(self, message: str, *, node: str | None = None, attempts: int = 1,
                 retryable: bool = False, status: int | None = None) -> None:
        self.message = redact(message)
        self.node = node
        self.attempts = attempts
        self.retryable = retryable
        self.status = status
        super().__init__(self.message)

    def __str__(self) -> str:
        return f"node {self.node!r}: {self.message}" if self.node else self.message


class ProviderError(NodeError):
    """A provider API call failed.

    Attributes:
        provider: provider name, e.g. ``openai``.
        status: HTTP status, when there was a response.
        retry_after: seconds the provider asked us to wait, when it said.
    """

    def __init__(self, message: str, *, provider: str, status: int | None = None,
                 retryable: bool = False, retry_after: float | None = None,
                 node: str | None = None) -> None:
        self.provider = provider
        self.retry_after = retry_after
        super().__init__(message, node=node, retryable=retryable, status=status)

    def __str__(self) -> str:
        status = f" (HTTP {self.status})" if self.status is not None else ""
        base = f"{self.provider}{status}: {self.message}"
        return f"node {self.node!r}: {base}" if self.node else base


class BudgetError(NodeError):
    """A provider call was refused: its estimate would take spend past a cost cap, or the recorded
    cost already passed one (see :mod:`nbflow.engine.budget`). Never retried; a fallback may fit."""


class CassetteMiss(NodeError):
    """A replayed run sent a request that its cassette has no recorded answer for.

    The message says which request and what differs from the closest recording (never retried).
    """


class CassetteError(NbflowError):
    """A cassette file is missing, not JSON, or not in a format this nbflow reads."""

    exit_code = 2


class RunCancelled(NbflowError):
    """The run was stopped before it finished."""

    exit_code = 1


class UsageError(NbflowError):
    """A command was asked something it cannot do: an unknown template, a file it must not overwrite."""

    exit_code = 2


class StoreError(NbflowError):
    """The run store cannot load or save a run."""

    exit_code = 2


class ResumeError(NbflowError):
    """A run cannot be resumed as asked: it already succeeded, is still running, or waits elsewhere."""

    exit_code = 2


class ClaimError(ResumeError):
    """Another process holds the run's lease: it is running it, or deciding or resuming it right now.

    Of several processes that resume (approve, reject) one run at once, exactly one wins; the others
    get this error (exit code 2, HTTP 409)."""


class ConfigError(NbflowError):
    """A setting of the server, a schedule, a batch or an alert rule is invalid (a cron expression, a
    time zone, a duration, a JSONL line...). The message names the setting, and the file and line
    when there is one."""

    exit_code = 2


class MissingExtraError(ConfigError):
    """A command or node needs an optional extra (``pip install 'nbflow[dask]'``...) that is not
    installed. The message names the extra and the command to install it."""
