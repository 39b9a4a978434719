"""Evaluate flows: test cases with expectations (``nbflow test``) and side-by-side comparisons of
variants (``nbflow compare``), offline in CI with cassettes (:mod:`nbflow.providers.cassette`)."""

from nbflow.evaluate.cases import Case, Expectation, load_cases
from nbflow.evaluate.compare import BASE, Variant, acompare, compare, parse_variants
from nbflow.evaluate.report import CaseResult, Check, Comparison, TestReport
from nbflow.evaluate.suite import aevaluate, evaluate

__all__ = [
    "BASE",
    "Case",
    "CaseResult",
    "Check",
    "Comparison",
    "Expectation",
    "TestReport",
    "Variant",
    "acompare",
    "aevaluate",
    "compare",
    "evaluate",
    "load_cases",
    "parse_variants",
]
