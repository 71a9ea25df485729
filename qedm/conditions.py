"""Conditions on sampled rows: `Class=1`, `age>=60`, and rejection sampling for what was not trained.

A model fitted with `condition_column` generates a requested class of that column directly
(classifier-free guidance). A condition on any other column, or a range, is met the way SDV
meets it: draw rows, keep those that satisfy every condition, and draw again until `n` are
kept or the budget of candidate rows is spent. The acceptance rate says how rare the asked-for
rows are in the model's distribution; an unfillable request is an error naming the condition.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from qedm.errors import ConfigError, QEDMError

OPERATORS = (">=", "<=", "!=", "==", ">", "<", "=")
_PATTERN = re.compile(r"^\s*(?P<column>.+?)\s*(?P<op>>=|<=|!=|==|>|<|=)\s*(?P<value>.*?)\s*$")


@dataclass(frozen=True)
class Condition:
    """`column op value`, e.g. Condition("age", ">=", 60); op "=" and "==" are equality."""

    column: str
    op: str
    value: Any

    def __post_init__(self) -> None:
        if self.op not in OPERATORS:
            raise ConfigError(f"condition operator {self.op!r} is not one of: {', '.join(OPERATORS)}")
        if self.op == "=":
            object.__setattr__(self, "op", "==")

    @property
    def is_equality(self) -> bool:
        return self.op == "=="

    def __str__(self) -> str:
        return f"{self.column}{self.op}{self.value}"

    def mask(self, frame: pd.DataFrame) -> np.ndarray:
        """Which rows of `frame` satisfy the condition: bool [len(frame)].

        Numeric columns compare as numbers (CLI values arrive as text); other columns compare
        equal as values or as text, and take no ranges.
        """
        column = frame[self.column]
        if pd.api.types.is_numeric_dtype(column) and not pd.api.types.is_bool_dtype(column):
            try:
                value = float(self.value)
            except (TypeError, ValueError):
                raise ConfigError(f"condition {self}: column {self.column!r} is numeric, "
                                  f"{self.value!r} is not a number") from None
            numbers = column.to_numpy(dtype=float)
            return {"==": numbers == value, "!=": numbers != value, ">=": numbers >= value,
                    "<=": numbers <= value, ">": numbers > value, "<": numbers < value}[self.op]
        if self.op not in ("==", "!="):
            raise ConfigError(f"condition {self}: {self.op} needs a numeric column, {self.column!r} is not")
        same = (column == self.value) | (column.astype(str) == str(self.value))
        return (same if self.op == "==" else ~same).to_numpy(dtype=bool)


def parse_condition(text: str) -> Condition:
    """"COLUMN=VALUE", "COLUMN>=VALUE" (also <=, >, <, ==, !=) -> Condition; errors name the text."""
    match = _PATTERN.match(text)
    if match is None or not match["column"] or match["value"] == "":
        raise ConfigError(f"--condition expects COLUMN=VALUE or a comparison such as age>=60, got {text!r}")
    return Condition(match["column"], match["op"], match["value"])


def as_conditions(conditions: dict[str, Any] | Iterable[str | Condition] | None) -> list[Condition]:
    """{column: value} (equality), or strings / Conditions, as a list of Conditions."""
    if not conditions:
        return []
    if isinstance(conditions, dict):
        return [Condition(str(column), "==", value) for column, value in conditions.items()]
    if isinstance(conditions, (str, Condition)):
        conditions = [conditions]
    return [c if isinstance(c, Condition) else parse_condition(str(c)) for c in conditions]


@dataclass
class RejectionStats:
    """How a rejection-sampled request went: candidates drawn, accepted, and their ratio."""

    conditions: list[str]
    drawn: int
    accepted: int

    @property
    def acceptance_rate(self) -> float:
        return self.accepted / self.drawn if self.drawn else 0.0


def rejection_sample(
    draw: Callable[[int, int], pd.DataFrame],
    n: int,
    conditions: list[Condition],
    *,
    max_candidates: int,
) -> tuple[pd.DataFrame, RejectionStats]:
    """`n` rows of `draw(rows, round)` that satisfy every condition, drawing at most `max_candidates` rows.

    Round k asks for about the rows still missing divided by the acceptance rate seen so far
    (10 % spare, at least n for the first), so a request is filled in few rounds; `draw` makes
    each round reproducible from its index. Raises QEDMError naming the conditions when the
    budget runs out first.
    """
    kept: list[pd.DataFrame] = []
    drawn = accepted = 0
    round_index = 0
    while accepted < n and drawn < max_candidates:
        rate = accepted / drawn if drawn else None
        missing = n - accepted
        want = missing if rate is None else math.ceil(1.1 * missing / max(rate, 1.0 / max_candidates))
        size = int(max(1, min(want, max_candidates - drawn)))
        batch = draw(size, round_index)
        mask = np.ones(len(batch), dtype=bool)
        for condition in conditions:
            mask &= condition.mask(batch)
        kept.append(batch[mask])
        drawn += size
        accepted += int(mask.sum())
        round_index += 1
    stats = RejectionStats([str(c) for c in conditions], drawn, accepted)
    if accepted < n:
        raise QEDMError(
            f"could draw only {accepted} of {n} rows with {' and '.join(stats.conditions)}: "
            f"{drawn} candidate rows (the budget) gave an acceptance rate of {stats.acceptance_rate:.2%}; "
            "the model rarely generates such rows: relax the condition, ask for fewer rows, raise the "
            "budget (max_tries), or fit with condition_column set to that column"
        )
    rows = pd.concat(kept, ignore_index=True).iloc[:n].reset_index(drop=True)
    return rows, stats
