"""Measurement snapshots of TFIM ground states and the tables (datasets) built from them.

A snapshot is one projective measurement of every qubit in the Z or the X basis: a bitstring
drawn from the exact Born distribution. Tables have one integer column per qubit, named by the
basis (`z0..z{n-1}` or `x0..x{n-1}`, values 0/1 with 0 = eigenvalue +1), and the field `h`.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
import torch

from qedm.errors import ConfigError
from qedm.science.tfim import TFIMChain, ground_state

BASES = ("z", "x")
FIELD_COLUMN = "h"

# The bundled datasets: 8 periodic sites, fields across the transition at h = J = 1.
BUNDLED_N = 8
BUNDLED_FIELDS = (0.2, 0.4, 0.6, 0.8, 1.0, 1.2, 1.4, 1.6, 1.8, 2.0)
BUNDLED_SHOTS = 500


def bit_columns(n: int, basis: str) -> list[str]:
    """Column names of the n measured qubits in `basis`: ["z0", ..., "z{n-1}"]."""
    return [f"{basis}{i}" for i in range(n)]


def sample_snapshots(chain: TFIMChain, shots: int, basis: str, generator: torch.Generator) -> np.ndarray:
    """`shots` bitstrings of the ground state measured in `basis`: [shots, n] int8 in {0, 1}."""
    _check_basis(basis)
    if isinstance(shots, bool) or not isinstance(shots, (int, np.integer)) or shots < 1:
        raise ConfigError(f"shots must be a positive integer, got {shots!r}")
    state = ground_state(chain)
    probs = state.born_z() if basis == "z" else state.born_x()
    index = torch.multinomial(torch.as_tensor(probs, dtype=torch.float64), int(shots), replacement=True,
                              generator=generator).numpy()
    return ((index[:, None] >> np.arange(chain.n)[None, :]) & 1).astype(np.int8)


def tfim_dataset(
    n: int,
    fields: Sequence[float],
    shots: int,
    basis: str = "z",
    seed: int = 0,
    *,
    J: float = 1.0,
    boundary: str = "periodic",
) -> pd.DataFrame:
    """Snapshots of the TFIM ground state at each field: [len(fields) * shots rows, n + 1 columns].

    Same arguments, same table: one torch.Generator seeded with `seed` draws every field in order.
    """
    _check_basis(basis)
    fields = [float(f) for f in fields]
    if not fields:
        raise ConfigError("fields must hold at least one field value h")
    generator = torch.Generator().manual_seed(int(seed))
    blocks = []
    for h in fields:
        bits = sample_snapshots(TFIMChain(n, h, J, boundary), shots, basis, generator)
        block = pd.DataFrame(bits.astype(np.int64), columns=bit_columns(n, basis))
        block[FIELD_COLUMN] = h
        blocks.append(block)
    return pd.concat(blocks, ignore_index=True)


def load_bundled(basis: str) -> pd.DataFrame:
    """The bundled dataset tfim_<basis>: regenerated exactly on each load (about a second)."""
    return tfim_dataset(BUNDLED_N, BUNDLED_FIELDS, BUNDLED_SHOTS, basis, seed=0)


def snapshot_spins(frame: pd.DataFrame, basis: str) -> np.ndarray:
    """The +-1 eigenvalues of a snapshot table's bit columns: [rows, n] (bit 0 -> +1, 1 -> -1)."""
    columns = [c for c in frame.columns if _is_bit_column(c, basis)]
    if not columns:
        raise ConfigError(f"the table has no {basis}-basis bit columns ({basis}0, {basis}1, ...)")
    columns.sort(key=lambda c: int(c[1:]))
    bits = frame[columns].to_numpy()
    bad = ~np.isin(bits, (0, 1))
    if bad.any():
        column = columns[int(np.argwhere(bad)[0][1])]
        raise ConfigError(f"bit column {column!r} holds values other than 0 and 1")
    return 1 - 2 * bits.astype(np.int64)


def detect_basis(frame: pd.DataFrame) -> str:
    """Which basis a snapshot table was measured in, from its column names (z0.. or x0..)."""
    found = [b for b in BASES if any(_is_bit_column(c, b) for c in frame.columns)]
    if len(found) != 1:
        raise ConfigError(f"cannot tell the measurement basis: expected bit columns z0.. or x0.., "
                          f"got columns {list(frame.columns)[:6]}")
    return found[0]


def _is_bit_column(name, basis: str) -> bool:
    return isinstance(name, str) and name.startswith(basis) and name[1:].isdigit()


def _check_basis(basis: str) -> None:
    if basis not in BASES:
        raise ConfigError(f"basis={basis!r} is not one of: {', '.join(BASES)}")
