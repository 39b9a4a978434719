"""``nbflow test FLOW CASES.jsonl`` and ``nbflow compare FLOW CASES.jsonl --variant ...``.

``test`` exits 0 when every case passes, 1 when any fails, 2 for bad input (a malformed case file, an
unknown input or output, a cassette that cannot be read). ``compare`` reports and exits 0 once every
variant ran; ``test`` is the gate for CI.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from .run import add_cassette_args, cassette_options

__all__ = ["add_parser", "compare_main", "test_main"]


def _common(p: Any) -> None:
    p.add_argument("flow", help="path to the flow JSON file")
    p.add_argument("cases", help="JSONL file: one {\"name\", \"inputs\", \"expect\": [...]} object per line")
    p.add_argument("--concurrency", "-c", type=int, default=1, metavar="N", help="cases running at once "
                   "(default 1)")
    p.add_argument("--json", metavar="FILE", help="write the report as JSON to FILE ('-': stdout)")
    add_cassette_args(p)


def add_parser(sub: Any) -> None:
    t = sub.add_parser("test", help="run test cases through a flow and check expectations",
                       description="Run each case of a JSONL file through the flow and check its expectations "
                       "(conditions as in branch/loop, JSON Schema checks, judge flows). Prints a table; exits 0 "
                       "when all pass, 1 when any fails, 2 for bad input.")
    _common(t)
    t.add_argument("--junit", metavar="FILE", help="write a JUnit XML report for CI")
    t.set_defaults(func=test_main)
    c = sub.add_parser("compare", help="run the same cases through variants of a flow, side by side",
                       description="Run the cases through the flow as it is ('base') and through each variant "
                       "(NAME:NODE.PARAM=VALUE; repeat a name for more changes), then show outputs, expectation "
                       "results, cost and latency side by side.")
    _common(c)
    c.add_argument("--variant", "-V", action="append", default=[], metavar="NAME:NODE.PARAM=VALUE",
                   help="a variant's param change (repeatable); VALUE is JSON or text, @FILE reads a file")
    c.add_argument("--no-base", action="store_true", help="leave out the flow as it is")
    c.add_argument("--html", metavar="FILE", help="write the side-by-side report as an HTML page "
                   "(images inline)")
    c.add_argument("--show", metavar="OUTPUT", help="the output shown in the table (default: the first text one)")
    c.add_argument("--estimate", action="store_true", help="make no calls: print what each variant would cost "
                   "over the cases (as nbflow run --estimate does)")
    c.set_defaults(func=compare_main)


def _write(path: str, text: str) -> None:
    if path == "-":
        sys.stdout.write(text)
        return
    p = Path(path)
    if p.parent != Path("."):
        p.parent.mkdir(parents=True, exist_ok=True)
    p.write_text(text, encoding="utf-8")


def _json(obj: Any) -> str:
    import json

    return json.dumps(obj, ensure_ascii=False, indent=2) + "\n"


def test_main(args: argparse.Namespace) -> int:
    from nbflow.evaluate import evaluate
    from nbflow.evaluate.report import junit_xml

    report = evaluate(args.flow, args.cases, concurrency=args.concurrency, **cassette_options(args))
    if args.json != "-":
        sys.stdout.write(report.table() + "\n")
    if args.json:
        _write(args.json, _json(report.to_json()))
    if args.junit:
        _write(args.junit, junit_xml(report))
    return 0 if report.ok else 1


def _print_estimates(est: dict[str, dict[str, Any]]) -> None:
    rows = [("variant", "changes", "estimated cost")]
    rows += [(n, e["changes"], f"${e['cost']:.6f}") for n, e in est.items()]
    widths = [max(len(r[i]) for r in rows) for i in range(3)]
    for r in rows:
        sys.stdout.write(f"{r[0].ljust(widths[0])}  {r[1].ljust(widths[1])}  {r[2].rjust(widths[2])}\n")
    sys.stdout.write("no calls were made (output at max_tokens, or a default where unset)\n")
    unpriced = sorted({u for e in est.values() for u in e["unpriced"]})
    if unpriced:
        sys.stdout.write(f"no price known for: {', '.join(unpriced)} (counted as $0)\n")


def compare_main(args: argparse.Namespace) -> int:
    from nbflow.evaluate import compare
    from nbflow.evaluate.compare import estimate_variants

    if args.estimate:
        if args.record or args.replay or args.html:
            from nbflow.exceptions import UsageError

            raise UsageError("--estimate makes no calls: it takes no cassette and writes no --html report")
        est = estimate_variants(args.flow, args.cases, args.variant, base=not args.no_base)
        if args.json:
            _write(args.json, _json(est))
        if args.json != "-":
            _print_estimates(est)
        return 0

    comp = compare(args.flow, args.cases, args.variant, base=not args.no_base, concurrency=args.concurrency,
                   **cassette_options(args))
    if args.show and any(args.show not in c.outputs for r in comp.reports.values() for c in r.cases if c.passed):
        sys.stderr.write(f"nbflow: warning: --show {args.show}: not an output of every run\n")
    if args.json != "-":
        sys.stdout.write(comp.table(show=args.show) + "\n")
    if args.json:
        _write(args.json, _json(comp.to_json()))
    if args.html:
        _write(args.html, comp.to_html(page=True))
    return 0
