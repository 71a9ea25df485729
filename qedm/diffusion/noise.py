"""The noise engine: where the Gaussian noise and random timesteps of diffusion come from.

Two sources behind one small interface (`normal`, `uniform`, `randint`):
- "prng": a seeded `torch.Generator` (fast, reproducible; the default).
- "qrng": bits from measuring a quantum circuit, via `qedm.quantum.qrng.QuantumRNG`.
  On a simulator those "quantum" bits are computed from a seeded pseudo-random generator,
  so they are pseudo-random too: this option shows the plumbing for real quantum hardware,
  it adds no randomness and no quality on a simulator, and it is much slower.

Values are drawn on the CPU and moved to the requested device, so a seed gives the same
numbers on every device.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

import torch

from qedm.errors import ConfigError

NOISE_KINDS = ("prng", "qrng")


@runtime_checkable
class NoiseSource(Protocol):
    """What samplers and the loss need from a source of randomness."""

    source: str

    def normal(self, shape: tuple[int, ...], device: torch.device | str | None = None,
               dtype: torch.dtype = torch.float32) -> torch.Tensor: ...

    def uniform(self, shape: tuple[int, ...], device: torch.device | str | None = None,
                dtype: torch.dtype = torch.float32) -> torch.Tensor: ...

    def randint(self, high: int, shape: tuple[int, ...],
                device: torch.device | str | None = None) -> torch.Tensor: ...


class PRNGNoise:
    """Standard normal / uniform / integer draws from a seeded `torch.Generator` (CPU by default)."""

    def __init__(self, seed: int | None = None, generator: torch.Generator | None = None) -> None:
        if generator is None:
            generator = torch.Generator()
            if seed is None:
                generator.seed()
            else:
                generator.manual_seed(int(seed))
        self.generator = generator
        self.seed = seed
        self.source = f"prng:torch.Generator(seed={seed})"

    def normal(self, shape, device=None, dtype=torch.float32) -> torch.Tensor:
        """N(0, 1) samples: [*shape]."""
        g = self.generator
        return torch.randn(tuple(shape), generator=g, dtype=dtype, device=g.device).to(device)

    def uniform(self, shape, device=None, dtype=torch.float32) -> torch.Tensor:
        """U[0, 1) samples: [*shape]."""
        g = self.generator
        return torch.rand(tuple(shape), generator=g, dtype=dtype, device=g.device).to(device)

    def randint(self, high: int, shape, device=None) -> torch.Tensor:
        """Integers uniform in 0 .. high-1: LongTensor [*shape]."""
        g = self.generator
        return torch.randint(0, int(high), tuple(shape), generator=g, device=g.device).to(device)


class QRNGNoise:
    """Draws from `QuantumRNG` (measured circuit bits); pseudo-random when simulated, see module doc."""

    def __init__(self, seed: int | None = None, n_qubits: int = 8) -> None:
        from qedm.quantum.qrng import QuantumRNG  # lazy: the quantum stack is only needed here

        self.rng = QuantumRNG(n_qubits=n_qubits, seed=seed)
        self.seed = seed
        self.source = f"qrng:{self.rng.source}"

    def normal(self, shape, device=None, dtype=torch.float32) -> torch.Tensor:
        """N(0, 1) samples: [*shape]."""
        return self.rng.normal(tuple(shape)).to(device=device, dtype=dtype)

    def uniform(self, shape, device=None, dtype=torch.float32) -> torch.Tensor:
        """U[0, 1) samples (24-bit grid): [*shape]."""
        return self.rng.uniform(tuple(shape)).to(device=device, dtype=dtype)

    def randint(self, high: int, shape, device=None) -> torch.Tensor:
        """Integers uniform in 0 .. high-1 (up to the 2**-24 grid): LongTensor [*shape]."""
        u = self.rng.uniform(tuple(shape)).double()
        return (u * int(high)).floor().long().clamp_(0, int(high) - 1).to(device)


def make_noise_source(kind: str = "prng", seed: int | None = None) -> NoiseSource:
    """The noise source named `kind` ("prng" | "qrng"), seeded with `seed`.

    "qrng" draws bits from a simulated quantum circuit: on a simulator those bits are
    pseudo-random (seeded), not quantum, so "qrng" is reproducible and no more random than "prng".
    """
    if kind == "prng":
        return PRNGNoise(seed)
    if kind == "qrng":
        return QRNGNoise(seed)
    raise ConfigError(f"noise={kind!r} is not one of: {', '.join(NOISE_KINDS)}")


def as_noise_source(noise: NoiseSource | torch.Generator | int | None) -> NoiseSource:
    """Accept a NoiseSource, a torch.Generator, an int seed or None (fresh random seed)."""
    if isinstance(noise, torch.Generator):
        return PRNGNoise(generator=noise)
    if noise is None or (isinstance(noise, int) and not isinstance(noise, bool)):
        return PRNGNoise(noise)
    if isinstance(noise, NoiseSource):
        return noise
    raise ConfigError(
        f"noise/generator must be a NoiseSource, torch.Generator, int seed or None, got {type(noise).__name__}"
    )
