"""The protocol every execution backend implements, and the shot estimator they share.

A backend runs a circuit template (anything with `ops()`, `n_qubits`, `dtype`,
`observable_list` and the `signs` table [2**n, m], i.e. a `VQC`) on inputs x [B, k] and
weights [L, n, 3]. It returns Born probabilities [B, 2**n] and exact Z-product expectations
[B, m], both differentiable w.r.t. x and weights by autograd. `shift=(op_index, position,
delta)` adds delta to one angle of the Op list (what parameter-shift needs). With `shots=N`
`estimate` draws N bitstrings per row from the probabilities and averages the observables
over them, as hardware does: the error of each estimate is sqrt(Var/N) (Var = 1 - <O>^2).
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

import torch

from qedm.errors import CircuitError

Shift = tuple[int, int, float]


@runtime_checkable
class Backend(Protocol):
    """Run a circuit template: probabilities, exact expectations and shot estimates."""

    name: str
    shots: int | None

    def probabilities(self, circuit, x: torch.Tensor, weights: torch.Tensor,
                      shift: Shift | None = None) -> torch.Tensor:
        """Measurement distribution in the computational basis: [B, 2**n] real."""
        ...

    def expectations(self, circuit, x: torch.Tensor, weights: torch.Tensor,
                     shift: Shift | None = None) -> torch.Tensor:
        """Exact <observables>: [B, m] real."""
        ...

    def estimate(self, circuit, x: torch.Tensor, weights: torch.Tensor, shift: Shift | None = None,
                 generator: torch.Generator | None = None) -> torch.Tensor:
        """Exact expectations if shots is None, else the N-shot estimate: [B, m]."""
        ...


def check_shots(shots: int | None) -> int | None:
    """shots is None or a positive int (CircuitError names it otherwise)."""
    if shots is not None and (isinstance(shots, bool) or not isinstance(shots, int) or shots < 1):
        raise CircuitError(f"shots must be a positive integer or None, got {shots!r}")
    return shots


def sample_counts(probs: torch.Tensor, shots: int, generator: torch.Generator | None) -> torch.Tensor:
    """Measurement counts of `shots` shots per row: probs [B, D] -> counts [B, D] (float64)."""
    device = probs.device
    probs = probs.detach().double().clamp_min(0)
    if generator is not None and generator.device != device:  # draw where the generator lives
        probs = probs.to(generator.device)
    probs = probs / probs.sum(dim=1, keepdim=True)
    outcomes = torch.multinomial(probs, shots, replacement=True, generator=generator)  # [B, shots]
    counts = torch.zeros_like(probs).scatter_add_(1, outcomes, torch.ones_like(outcomes, dtype=probs.dtype))
    return counts.to(device)


def shot_estimate(probs: torch.Tensor, signs: torch.Tensor, shots: int,
                  generator: torch.Generator | None) -> torch.Tensor:
    """All observables from the SAME `shots` bitstrings per row: probs [B, D], signs [D, m] -> [B, m] float64."""
    counts = sample_counts(probs, shots, generator)
    return (counts / shots) @ signs.to(device=counts.device, dtype=torch.float64)


class BackendBase:
    """Shared parts: the shots option and `estimate` on top of a subclass's `probabilities`/`expectations`."""

    name = "base"

    def __init__(self, shots: int | None = None) -> None:
        self.shots = check_shots(shots)

    def expectations(self, circuit, x, weights, shift=None) -> torch.Tensor:
        """Exact <observables> from the probabilities: [B, m]."""
        probs = self.probabilities(circuit, x, weights, shift)
        return probs @ circuit.signs.to(probs.dtype)

    def estimate(self, circuit, x, weights, shift=None, generator=None) -> torch.Tensor:
        """N-shot estimates [B, m] in the circuit's real dtype; the gradient is the exact one (straight-through).

        A QPU cannot backpropagate; with backprop the value is the shot estimate and the gradient
        that of the exact expectation, a simulator-only shortcut.
        """
        if self.shots is None:
            return self.expectations(circuit, x, weights, shift)
        probs = self.probabilities(circuit, x, weights, shift)
        exact = probs @ circuit.signs.to(probs.dtype)
        sampled = shot_estimate(probs, circuit.signs, self.shots, generator).to(exact.dtype)
        return exact + (sampled - exact).detach()

    def describe(self) -> dict:
        """What a resource report / config records about this backend."""
        return {"backend": self.name, "shots": self.shots}

    def __repr__(self) -> str:
        return f"{type(self).__name__}(shots={self.shots})"
