"""Operating nbflow: run statistics per flow and time window, and alert rules over them.

    from nbflow.ops import AlertManager, AlertRule, run_stats
"""

from __future__ import annotations

from nbflow.ops.alerts import Alert, AlertManager, AlertRule, evaluate
from nbflow.ops.summary import RunStats, percentile, run_stats, windowed_stats
from nbflow.ops.timespec import parse_duration, parse_since

__all__ = [
    "Alert",
    "AlertManager",
    "AlertRule",
    "RunStats",
    "evaluate",
    "parse_duration",
    "parse_since",
    "percentile",
    "run_stats",
    "windowed_stats",
]
