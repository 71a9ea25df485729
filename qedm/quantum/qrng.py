"""A quantum random number source: H on every qubit, measure, turn bits into floats.

On the simulator back end the measurement outcomes are drawn with `torch.multinomial` from
the |+>^n probabilities, so the bits come from torch's PSEUDO-random generator, not from a
quantum process. The class is the interface a hardware QRNG plugs into: anything with
`bits(n) -> Tensor[uint8]` (the `BitSource` protocol) can replace the simulator source.
"""

from __future__ import annotations

import math
from typing import Protocol, runtime_checkable

import torch

from qedm.errors import ConfigError
from qedm.quantum.ir import Op
from qedm.quantum.simulator import probabilities, run_ops

BITS_PER_FLOAT = 24  # float32 has a 24-bit significand


@runtime_checkable
class BitSource(Protocol):
    """Anything that yields n random bits as a uint8 tensor of 0/1: [n]."""

    source: str

    def bits(self, n: int) -> torch.Tensor: ...


class SimulatedHadamardSource:
    """Measures n_qubits qubits prepared in |+> on the statevector simulator (torch PRNG underneath)."""

    source = "simulator: H|0> measured by sampling with torch's pseudo-random generator (not quantum)"

    def __init__(self, n_qubits: int = 8, seed: int | None = None) -> None:
        if not 1 <= n_qubits <= 20:
            raise ConfigError(f"n_qubits must be between 1 and 20, got {n_qubits}")
        self.n_qubits = n_qubits
        self.generator = torch.Generator()
        if seed is None:
            self.generator.seed()
        else:
            self.generator.manual_seed(seed)
        ops = [Op("H", (w,)) for w in range(n_qubits)]
        state = run_ops(ops, n_qubits, None, None, dtype=torch.complex128)
        self.probs = probabilities(state)[0].double()  # [2**n]

    def bits(self, n: int) -> torch.Tensor:
        """n measured bits: [n] uint8; one shot yields n_qubits bits, wire 0 first."""
        shots = math.ceil(n / self.n_qubits)
        outcomes = torch.multinomial(self.probs, shots, replacement=True, generator=self.generator)
        shifts = torch.arange(self.n_qubits - 1, -1, -1)
        bits = (outcomes[:, None] >> shifts) & 1  # [shots, n_qubits], wire 0 = most significant bit
        return bits.flatten()[:n].to(torch.uint8)


class QuantumRNG:
    """Uniform and Gaussian random numbers from measured qubits.

    With backend="simulator" (the only built-in one) the bits come from torch's pseudo-random
    generator (see `source`); pass `bit_source=` any `BitSource` (e.g. a hardware QRNG client)
    to draw real quantum bits through the same conversion.
    """

    def __init__(
        self,
        n_qubits: int = 8,
        seed: int | None = None,
        backend: str = "simulator",
        bit_source: BitSource | None = None,
    ) -> None:
        if bit_source is None:
            if backend != "simulator":
                raise ConfigError(
                    f"backend={backend!r} is not built in; use 'simulator' or pass bit_source= a BitSource"
                )
            bit_source = SimulatedHadamardSource(n_qubits, seed)
        self.bit_source = bit_source
        self.source: str = bit_source.source

    def bits(self, n: int) -> torch.Tensor:
        """n random bits: [n] uint8."""
        if n < 0:
            raise ConfigError(f"n must be >= 0, got {n}")
        return self.bit_source.bits(n)

    def _integers(self, shape: tuple[int, ...] | int) -> tuple[torch.Tensor, tuple[int, ...]]:
        """24-bit integers from the bit source, wire order = most significant first: [prod(shape)]."""
        shape = (shape,) if isinstance(shape, int) else tuple(shape)
        count = math.prod(shape)
        bits = self.bits(count * BITS_PER_FLOAT).reshape(count, BITS_PER_FLOAT).long()
        weights = 2 ** torch.arange(BITS_PER_FLOAT - 1, -1, -1)
        return (bits * weights).sum(dim=1), shape

    def uniform(self, shape: tuple[int, ...] | int) -> torch.Tensor:
        """Uniform floats k / 2**24 in [0, 1), 24 bits each (exact in float32): tensor of `shape`."""
        ints, shape = self._integers(shape)
        return (ints.float() / 2**BITS_PER_FLOAT).reshape(shape)

    def normal(self, shape: tuple[int, ...] | int) -> torch.Tensor:
        """Standard normal float32 samples of `shape` by inverse CDF (tails cut at ~5.3 sigma)."""
        ints, shape = self._integers(shape)
        # Cell midpoints (k + 1/2) / 2**24 keep 0 and 1 out, so the inverse CDF stays finite.
        u = (ints.double() + 0.5) / 2**BITS_PER_FLOAT
        return torch.special.ndtri(u).float().reshape(shape)
