"""Gradient health of a hybrid model: is the circuit inside autograd, and does it get a usable gradient?

A circuit cut off from autograd, or deep in a barren plateau, trains nothing while the
classical parts carry the model. `GradientMonitor` records, after every backward pass of the
training loop, the L2 norms of the gradients of (i) the circuit's parameters, (ii) the
circuit's input (the tensor the circuit module is called with) and (iii) every other
(classical) parameter; `epoch_record` averages them over the epoch's steps for metrics.jsonl.
`gradient_flags` reads such records and says when the circuit's gradient is zero or many
orders of magnitude below the classical parameters' (compared per parameter, as RMS).
"""

from __future__ import annotations

import math

import torch
from torch import nn

# The circuit's per-parameter RMS gradient below this share of the classical one is flagged.
RATIO_FLOOR = 1e-3
KEYS = ("grad_circuit_norm", "grad_circuit_input_norm", "grad_classical_norm")


class GradientMonitor:
    """Per-step gradient norms of a model with a `vqc` circuit (see the module docstring).

    >>> monitor = GradientMonitor.attach(model)   # None for a model without a circuit
    >>> loss.backward(); monitor.after_backward()
    >>> record.update(monitor.epoch_record())
    """

    def __init__(self, model: nn.Module, circuit: nn.Module) -> None:
        self.circuit_params = [p for p in circuit.parameters() if p.requires_grad]
        ids = {id(p) for p in circuit.parameters()}
        self.classical_params = [p for p in model.parameters() if p.requires_grad and id(p) not in ids]
        self.n_circuit = sum(p.numel() for p in self.circuit_params)
        self.n_classical = sum(p.numel() for p in self.classical_params)
        self._input_sq: list[torch.Tensor] = []
        self._steps: list[tuple[float, float, float]] = []
        self._handle = circuit.register_forward_pre_hook(self._capture_input)

    @classmethod
    def attach(cls, model: nn.Module) -> "GradientMonitor | None":
        circuit = getattr(model, "vqc", None)
        return None if circuit is None else cls(model, circuit)

    def _capture_input(self, module: nn.Module, args: tuple) -> None:
        x = args[0] if args else None
        if isinstance(x, torch.Tensor) and x.requires_grad:
            x.register_hook(lambda grad: self._input_sq.append(grad.detach().double().pow(2).sum()))

    def after_backward(self) -> None:
        """Record this step's three norms (call after loss.backward(), before optimizer.step())."""
        step = (_norm(self.circuit_params), math.sqrt(float(sum(self._input_sq))) if self._input_sq else 0.0,
                _norm(self.classical_params))
        self._input_sq.clear()
        self._steps.append(step)

    def epoch_record(self) -> dict[str, float]:
        """Mean over the epoch's steps of each norm (KEYS); resets for the next epoch."""
        if not self._steps:
            return {}
        means = [sum(values) / len(values) for values in zip(*self._steps)]
        self._steps.clear()
        record = dict(zip(KEYS, means))
        record["grad_circuit_ratio"] = rms_ratio(record["grad_circuit_norm"], self.n_circuit,
                                                 record["grad_classical_norm"], self.n_classical)
        return record

    def close(self) -> None:
        self._handle.remove()


def _norm(params: list[nn.Parameter]) -> float:
    squares = [p.grad.detach().double().pow(2).sum() for p in params if p.grad is not None]
    return math.sqrt(float(sum(squares))) if squares else 0.0


def rms_ratio(circuit_norm: float, n_circuit: int, classical_norm: float, n_classical: int) -> float:
    """Per-parameter RMS gradient of the circuit over that of the classical parameters (NaN if undefined)."""
    if n_circuit == 0 or n_classical == 0 or classical_norm == 0:
        return float("nan")
    return (circuit_norm / math.sqrt(n_circuit)) / (classical_norm / math.sqrt(n_classical))


def gradient_flags(history: list[dict]) -> dict[str, float]:
    """Last epoch's gradient figures and grad_flag (1: zero or below RATIO_FLOOR of the classical ones)."""
    last = next((r for r in reversed(history or []) if "grad_circuit_norm" in r), None)
    if last is None:
        return {}
    ratio = last.get("grad_circuit_ratio", float("nan"))
    zero = last["grad_circuit_norm"] == 0 or last["grad_circuit_input_norm"] == 0
    flagged = zero or (ratio == ratio and ratio < RATIO_FLOOR)
    return {"grad_circuit_norm": last["grad_circuit_norm"], "grad_circuit_input_norm": last["grad_circuit_input_norm"],
            "grad_classical_norm": last["grad_classical_norm"], "grad_circuit_ratio": ratio,
            "grad_flag": float(flagged)}


def gradient_warning(history: list[dict]) -> str | None:
    """A one-line warning when the last epoch's circuit gradient is flagged, else None."""
    flags = gradient_flags(history)
    if not flags.get("grad_flag"):
        return None
    return (f"the circuit's gradient is unhealthy: parameter-gradient norm {flags['grad_circuit_norm']:.3g}, "
            f"input-gradient norm {flags['grad_circuit_input_norm']:.3g}, per-parameter RMS "
            f"{flags['grad_circuit_ratio']:.3g} x the classical parameters' (flagged below {RATIO_FLOOR:g} or at 0): "
            "the circuit barely trains; check the ablations before crediting it with anything")
