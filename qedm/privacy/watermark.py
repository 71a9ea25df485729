"""Keyed watermarks for synthetic tables: selection among candidate rows, tested by key exchange.

Marking: the sampler draws CANDIDATES x n rows; each row's cells are binned coarsely
(numeric: the model's quantile-normal output in steps of BIN_WIDTH standard deviations;
categorical: the label), every group of GROUP consecutive columns gets a keyed pseudo-random
number u(key, group, its bins) in [0, 1), and
the n rows with the highest row score s = mean over groups of u are kept (in sampling order).
The rows are ordinary samples of the model; only which of them are kept depends on the key.
Detection: the statistic is the mean row score of the file under the key. Without the mark
the true key is exchangeable with any other key, so the p-value is the rank of the statistic
among the statistics of N_NULL_KEYS keys derived from it: p = (1 + #{null >= observed}) /
(1 + N_NULL_KEYS). This is exact whatever the rows' dependence (repeated labels, duplicates),
which an i.i.d. normal approximation would not be. Small numeric noise moves few values
across a bin edge, and deleting rows only shrinks the sample; both lower the power, not the
false-positive rate.
Keys are 32 hexadecimal characters (128 bits; `new_key()` makes one).
"""

from __future__ import annotations

import hashlib
import re
import secrets

import numpy as np
import pandas as pd

from qedm.data.table import quantile_normal_transform
from qedm.errors import ConfigError, DataError

KEY_PATTERN = re.compile(r"^[0-9a-f]{32}$")
KEY_FORMAT = "32 lowercase hexadecimal characters (128 bits)"
SCHEME = "qedm.keyed-selection/1"
CANDIDATES = 2
BIN_WIDTH = 1.0
GROUP = 4  # columns hashed together
N_NULL_KEYS = 999
ALPHA = 0.01  # verdict threshold: a 1 % false-positive rate
_MASK = np.uint64(0xFFFFFFFFFFFFFFFF)


def new_key() -> str:
    """A fresh random key in the expected format."""
    return secrets.token_hex(16)


def check_key(key: str) -> str:
    """The key, or ConfigError when it is not in the watermark's key format."""
    if not isinstance(key, str) or not KEY_PATTERN.match(key):
        raise ConfigError(f"watermark key must be {KEY_FORMAT} (scheme {SCHEME}); got {len(str(key))} characters")
    return key


def _key_words(key: str, count: int) -> np.ndarray:
    """`count` 64-bit words from the key: word 0 is the key's own, the others are null keys."""
    words = [int.from_bytes(hashlib.sha256(f"{key}:{i}".encode()).digest()[:8], "little") for i in range(count)]
    return np.array(words, dtype=np.uint64)


def _mix(z: np.ndarray) -> np.ndarray:
    """splitmix64 finaliser on uint64 arrays (a bijective avalanche hash)."""
    with np.errstate(over="ignore"):
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        return z ^ (z >> np.uint64(31))


def cell_bins(transformer, frame: pd.DataFrame) -> np.ndarray:
    """Coarse bins of every modelled cell: [N, C] uint64 (C = non-constant columns)."""
    specs = [s for s in transformer.columns_ if s["kind"] != "constant"]
    missing = [s["name"] for s in specs if s["name"] not in frame.columns]
    if missing:
        raise DataError(f"the table lacks the model's columns {missing}")
    out = np.empty((len(frame), len(specs)), dtype=np.uint64)
    for j, spec in enumerate(specs):
        col = frame[spec["name"]]
        if spec["kind"] == "categorical":
            lookup = {str(c): i for i, c in enumerate(spec["categories"])}
            codes = np.array([lookup.get(str(v), len(lookup)) for v in col.astype(object)], dtype=np.int64)
        else:
            x = pd.to_numeric(col, errors="coerce").to_numpy(dtype=np.float64)
            z = quantile_normal_transform(np.nan_to_num(x, nan=spec["min"]), np.asarray(spec["quantiles"]))
            codes = np.where(np.isnan(x), -1000, np.floor(z / BIN_WIDTH)).astype(np.int64)
        out[:, j] = (codes.astype(np.uint64) * np.uint64(0x9E3779B97F4A7C15) + np.uint64(j + 1)) & _MASK
    return out


def row_scores(bins: np.ndarray, words: np.ndarray) -> np.ndarray:
    """Mean keyed uniform of each row's column groups for each key word: bins [N, C], words [K] -> [K, N].

    Columns are hashed in groups of GROUP consecutive columns: a single coarse cell takes few
    values (rows would share their numbers and the test lose power), a whole row would be
    re-drawn by noise in any one cell; a group is a compromise between the two.
    """
    groups = [bins[:, g:g + GROUP] for g in range(0, bins.shape[1], GROUP)]
    scores = np.zeros((len(words), bins.shape[0]))
    for k, word in enumerate(words):
        for g, block in enumerate(groups):
            with np.errstate(over="ignore"):
                hashed = _mix(word ^ np.uint64(g + 1))
                for j in range(block.shape[1]):
                    hashed = _mix(hashed ^ block[:, j])
            scores[k] += (hashed >> np.uint64(11)).astype(np.float64) / 2.0**53
    return scores / max(len(groups), 1)


def select_marked(candidates: pd.DataFrame, transformer, key: str, n: int) -> pd.DataFrame:
    """The n of the candidate rows with the highest keyed score, in their original order."""
    check_key(key)
    if len(candidates) < n:
        raise ConfigError(f"need at least n={n} candidate rows, got {len(candidates)}")
    score = row_scores(cell_bins(transformer, candidates), _key_words(key, 1))[0]
    keep = np.sort(np.argsort(-score, kind="stable")[:n])
    return candidates.iloc[keep].reset_index(drop=True)


def detect(frame: pd.DataFrame, transformer, key: str, n_null: int = N_NULL_KEYS) -> dict:
    """p-value and verdict of "this table carries the watermark of `key`" (see the module doc)."""
    check_key(key)
    if len(frame) == 0:
        raise DataError("the table to test has no rows")
    stats = row_scores(cell_bins(transformer, frame), _key_words(key, n_null + 1)).mean(axis=1)
    observed, null = stats[0], stats[1:]
    p_value = float((1 + np.sum(null >= observed)) / (1 + n_null))
    spread = float(null.std()) or 1.0
    return {"scheme": SCHEME, "rows": int(len(frame)), "statistic": float(observed),
            "z": float((observed - null.mean()) / spread), "p_value": p_value,
            "verdict": "watermarked" if p_value < ALPHA else "not detected", "alpha": ALPHA}
