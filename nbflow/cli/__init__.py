"""The ``nbflow`` command line.

Each sub-command lives in its own module with ``add_parser(subparsers)`` and a ``main(args)``
returning the exit code. Exit codes: 0 succeeded, 1 the run failed, 2 invalid flow, input or usage,
3 paused waiting for approval. User errors print one line on stderr, never a traceback.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Sequence

from nbflow.exceptions import NbflowError

__all__ = ["main"]

#: Modules providing sub-commands, in the order ``nbflow --help`` lists them.
COMMAND_MODULES = (
    "nbflow.cli.run",
    "nbflow.cli.resume",
    "nbflow.cli.info",
    "nbflow.cli.cache",
    "nbflow.cli.templates",
    "nbflow.cli.mcp",
    "nbflow.cli.serve",
    "nbflow.cli.schedule",
    "nbflow.cli.batch",
    "nbflow.cli.evaluate",
    "nbflow.cli.runs",
    "nbflow.cli.stats",
)

EXIT_OK, EXIT_FAILED, EXIT_INVALID, EXIT_PAUSED = 0, 1, 2, 3


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        self.print_usage(sys.stderr)
        sys.stderr.write(f"nbflow: error: {message}\n")
        sys.exit(EXIT_INVALID)


def build_parser() -> argparse.ArgumentParser:
    from nbflow import __version__

    parser = _Parser(prog="nbflow", description="Build AI workflows in notebooks; run them anywhere.")
    parser.add_argument("--version", action="version", version=f"nbflow {__version__}")
    _env_option(parser)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    for name in COMMAND_MODULES:
        importlib.import_module(name).add_parser(sub)
    for name in STORE_COMMANDS:
        _add_store_option(sub.choices[name])
    for cmd in sub.choices.values():
        _env_option(cmd)
    return parser


#: Commands that read or write the run store: each takes ``--store URL`` (it overrides ``$NBFLOW_STORE``).
STORE_COMMANDS = ("run", "resume", "mcp", "serve", "schedule", "batch", "runs", "stats")


def _add_store_option(p: argparse.ArgumentParser) -> None:
    """``--store`` on ``p`` and on its sub-commands (``nbflow runs show ID --store URL``)."""
    if not any("--store" in a.option_strings for a in p._actions):
        p.add_argument("--store", metavar="URL", default=argparse.SUPPRESS,
                       help="run store: a postgresql:// URL or a SQLite file (default: $NBFLOW_STORE, else "
                            "runs.db in the nbflow home)")
    for action in p._actions:
        if isinstance(action, argparse._SubParsersAction):
            for child in action.choices.values():
                _add_store_option(child)


def _env_option(parser: argparse.ArgumentParser) -> None:
    # SUPPRESS: a sub-command's unset option must not overwrite one given before the sub-command.
    parser.add_argument("--env", metavar="PROFILE", default=argparse.SUPPRESS,
                        help="environment profile (dev, prod...): keys and base URLs resolve as NAME_<PROFILE> "
                             "first, then NAME (default: $NBFLOW_ENV)")


def add_allow_host_option(p: argparse.ArgumentParser) -> None:
    """The ``--allow-host`` option of the commands that fetch image/file input URLs."""
    p.add_argument("--allow-host", action="append", default=[], metavar="HOST",
                   help="an internal host, host:port or network (10.0.0.0/8, or *) that image/file input URLs "
                   "may name; repeatable (default: public addresses only; also NBFLOW_ALLOW_HOSTS)")


def error(message: str) -> None:
    """Print a one-line error on stderr (newlines inside the message are escaped)."""
    one_line = message.replace("\r", "\\r").replace("\n", "\\n")
    sys.stderr.write(f"nbflow: error: {one_line}\n")


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``nbflow`` command. Returns the exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help(sys.stderr)
        return EXIT_INVALID
    if getattr(args, "store", None):
        os.environ["NBFLOW_STORE"] = args.store  # every store this command opens is that one
    from nbflow.providers.netguard import AllowList, allowing
    from nbflow.redaction import install_log_redaction

    install_log_redaction()
    try:
        if getattr(args, "env", None):
            from nbflow.providers.profiles import set_active_env

            set_active_env(args.env)
        with allowing(AllowList.parse(getattr(args, "allow_host", None) or [], where="--allow-host")):
            return int(args.func(args))
    except NbflowError as exc:
        error(str(exc))
        return exc.exit_code
    except ImportError as exc:  # an optional package that a command reached for is not installed
        from nbflow.extras import missing_extra

        missing = missing_extra(exc, f"nbflow {args.command}")
        if missing is None:
            raise
        error(str(missing))
        return missing.exit_code
    except KeyboardInterrupt:
        error("interrupted")
        return 130
    except BrokenPipeError:
        return EXIT_OK


def entry() -> None:
    """Console-script wrapper: exit with main()'s code."""
    sys.exit(main())
