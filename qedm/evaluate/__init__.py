"""Evaluation of synthetic tables: one entry point, `evaluate`, and its result type."""

from qedm.evaluate.core import METRICS, EvaluationResult, evaluate

__all__ = ["METRICS", "EvaluationResult", "evaluate"]
