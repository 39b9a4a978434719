"""How a failed attempt becomes a record, and whether the node's deadline leaves room for another."""

from __future__ import annotations

import asyncio
from typing import Any

from nbflow.engine.policies import Policy, retry_after_of
from nbflow.exceptions import FlowError, NbflowError, NodeError, ProviderError
from nbflow.redaction import redact

__all__ = ["beyond_deadline", "error_info", "error_message", "timed_out"]


def error_info(exc: BaseException, attempts: int) -> dict[str, Any]:
    """The ``error`` of a failed node's record: message, type, attempts, and status/provider if known."""
    info: dict[str, Any] = {"message": error_message(exc), "type": type(exc).__name__, "attempts": attempts}
    if isinstance(exc, NodeError) and exc.status is not None:
        info["status"] = exc.status
    if isinstance(exc, ProviderError):
        info["provider"] = exc.provider
    return info


def error_message(exc: BaseException) -> str:
    """The error's message without the node prefix (the record already names the node), redacted."""
    return redact(_plain_message(exc))


def _plain_message(exc: BaseException) -> str:
    if isinstance(exc, ProviderError):
        return str(exc) if exc.node is None else str(exc).split(": ", 1)[1]
    if isinstance(exc, (NodeError, FlowError)):
        return exc.message
    if isinstance(exc, NbflowError):
        return str(exc)
    if isinstance(exc, (asyncio.TimeoutError, TimeoutError)):
        return "timed out"
    text = str(exc)
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def timed_out(exc: Exception, pol: Policy, end: float | None, now: float) -> Exception:
    """A timeout as a NodeError naming which bound it hit: the deadline (final) or the attempt's."""
    if not isinstance(exc, (asyncio.TimeoutError, TimeoutError)):
        return exc
    if end is not None and now >= end - 1e-3:
        return NodeError(f"deadline of {pol.deadline:g}s passed", retryable=False)
    return NodeError(f"timed out after {pol.timeout:g}s", retryable=True)


def beyond_deadline(err: BaseException, delay: float, pol: Policy, end: float | None,
                     now: float) -> NodeError | None:
    """The error that ends the node at once when waiting ``delay`` would pass its deadline."""
    if end is None:
        return None
    left = max(end - now, 0.0)
    asked = retry_after_of(err)
    if asked is not None and asked > left:
        why = (f"asks to retry after {asked:g}s, beyond the node's deadline of {pol.deadline:g}s "
               f"({left:.3g}s left)")
    elif delay >= left:
        why = f"no time left to retry within the node's deadline of {pol.deadline:g}s"
    else:
        return None
    if isinstance(err, ProviderError):
        return ProviderError(f"{err.message}; {why}", provider=err.provider, status=err.status,
                             retry_after=err.retry_after)
    status = err.status if isinstance(err, NodeError) else None
    return NodeError(f"{error_message(err)}; {why}", status=status)
