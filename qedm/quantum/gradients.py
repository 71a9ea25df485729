"""Hardware-faithful expectations and gradients: finite shots, parameter-shift, SPSA.

`estimate_expectations(vqc, x)` is what `VQC.forward` calls when `vqc.shots` is set or
`vqc.diff_method != "backprop"`. Every gradient here is built only from circuit evaluations
on the VQC's backend (`vqc.exact_expectations(x, weights, shift=...)`, or shot estimates from
`vqc.exact_probabilities`), so the same code
would run against a QPU. With diff_method="backprop" and shots set, the forward value is the
shot estimate and the gradient is that of the exact expectation (straight-through): a
simulator-only shortcut, since a QPU cannot backpropagate.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING

import torch

from qedm.errors import CircuitError, ConfigError
from qedm.quantum.backends.base import shot_estimate
from qedm.quantum.gates import real_dtype
from qedm.quantum.ir import Op
from qedm.quantum.simulator import z_signs

if TYPE_CHECKING:  # pragma: no cover
    from qedm.quantum.circuits import VQC

GRADIENT_METHODS = ("backprop", "parameter-shift", "spsa")
SPSA_EPSILON = 0.1  # perturbation size c: bias O(c^2), shot noise amplified by 1/c

# Shift rules as (coefficient, shift) pairs: df/dt = sum_k c_k f(t + s_k).
# Two-term rule for gates exp(-i t G/2) with G having eigenvalues +-1; four-term rule for the
# controlled rotations, whose generator has eigenvalues {0, +-1/2}.
_C_PLUS = (math.sqrt(2) + 1) / (4 * math.sqrt(2))
_C_MINUS = (math.sqrt(2) - 1) / (4 * math.sqrt(2))
TWO_TERM_RULE = ((0.5, math.pi / 2), (-0.5, -math.pi / 2))
FOUR_TERM_RULE = (
    (_C_PLUS, math.pi / 2),
    (-_C_PLUS, -math.pi / 2),
    (-_C_MINUS, 3 * math.pi / 2),
    (_C_MINUS, -3 * math.pi / 2),
)
SHIFT_RULES = {"RX": TWO_TERM_RULE, "RY": TWO_TERM_RULE, "RZ": TWO_TERM_RULE, "Rot": TWO_TERM_RULE,
               "CRX": FOUR_TERM_RULE, "CRZ": FOUR_TERM_RULE}


def _signs(vqc: VQC) -> torch.Tensor:
    """The circuit's observable signs [2**n, m] (built from its observable list if it has no table)."""
    signs = getattr(vqc, "signs", None)
    return signs if signs is not None else z_signs(vqc.n_qubits, vqc.observable_list, real_dtype(vqc.dtype))


def shot_generator(vqc: VQC) -> torch.Generator:
    """The VQC's seeded generator for shots and SPSA (created on first use from `vqc.seed`)."""
    gen = getattr(vqc, "generator", None)
    if isinstance(gen, torch.Generator):
        return gen
    gen = vqc.__dict__.get("_gradients_generator")
    if gen is None:
        gen = torch.Generator()
        seed = getattr(vqc, "seed", None)
        if seed is None:
            gen.seed()
        else:
            gen.manual_seed(seed)
        vqc.__dict__["_gradients_generator"] = gen  # plain attribute: not a parameter or buffer
    return gen


def evaluate_circuit(
    vqc: VQC, x: torch.Tensor, weights: torch.Tensor, shift: tuple[int, int, float] | None = None,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """One circuit evaluation per row: exact if `vqc.shots` is None, else a shot estimate: [B, m]."""
    if vqc.shots is None:
        return vqc.exact_expectations(x, weights, shift=shift)
    probs = vqc.exact_probabilities(x, weights, shift=shift)
    return shot_estimate(probs, _signs(vqc), vqc.shots, generator).to(real_dtype(vqc.dtype))


def _shift_slots(ops: Sequence[Op], with_weights: bool, with_inputs: bool) -> list[tuple[int, int]]:
    """(op_index, param_position) of every angle slot to shift."""
    slots = []
    for i, op in enumerate(ops):
        if op.name == "AmplitudeEmbedding":
            continue
        for j, p in enumerate(op.params):
            if (p.trainable and with_weights) or (not p.trainable and with_inputs):
                slots.append((i, j))
    return slots


def parameter_shift_grad(
    vqc: VQC, x: torch.Tensor, weights: torch.Tensor, grad_output: torch.Tensor,
    need_x: bool = True, need_weights: bool = True, generator: torch.Generator | None = None,
) -> tuple[torch.Tensor | None, torch.Tensor | None]:
    """Vector-Jacobian products (grad_x [B, k], grad_weights like weights) by the parameter-shift rule.

    grad_output: [B, m]. Each angle slot is shifted in turn (all rows at once); input slots are
    chained through their Param (x * scale, or x_i * x_j * scale).
    """
    ops = vqc.ops()
    if need_x and any(op.name == "AmplitudeEmbedding" for op in ops):
        raise CircuitError(
            "parameter-shift cannot differentiate amplitude-encoded inputs (the embedding has no "
            "rotation angle to shift); detach x or use gradient='spsa' or 'backprop' (VQC: diff_method)"
        )
    grad_x = torch.zeros_like(x) if need_x else None
    grad_w = torch.zeros(weights.numel(), dtype=weights.dtype, device=weights.device) if need_weights else None
    g = grad_output.to(torch.float64)
    for i, j in _shift_slots(ops, need_weights, need_x):
        op, param = ops[i], ops[i].params[j]
        if op.name not in SHIFT_RULES:
            raise CircuitError(f"no parameter-shift rule for gate {op.name!r}")
        derivative = sum(
            c * evaluate_circuit(vqc, x, weights, shift=(i, j, s), generator=generator).to(torch.float64)
            for c, s in SHIFT_RULES[op.name]
        )
        per_row = (g * derivative).sum(dim=1)  # [B]: d loss / d angle, per row
        if param.kind == "weight":
            grad_w[param.index[0]] += (param.scale * per_row.sum()).to(grad_w.dtype)
        elif param.kind == "input":
            grad_x[:, param.index[0]] += (param.scale * per_row).to(x.dtype)
        else:  # input_product
            a, b = param.index
            grad_x[:, a] += (param.scale * x[:, b].double() * per_row).to(x.dtype)
            grad_x[:, b] += (param.scale * x[:, a].double() * per_row).to(x.dtype)
    return grad_x, (grad_w.reshape(weights.shape) if need_weights else None)


def _rademacher(like: torch.Tensor, generator: torch.Generator | None) -> torch.Tensor:
    """Random +-1 signs shaped like `like` (drawn on the generator's device)."""
    device = generator.device if generator is not None else like.device
    signs = torch.randint(0, 2, tuple(like.shape), generator=generator, device=device) * 2 - 1
    return signs.to(device=like.device, dtype=like.dtype)


def spsa_grad(
    vqc: VQC, x: torch.Tensor, weights: torch.Tensor, grad_output: torch.Tensor,
    need_x: bool = True, need_weights: bool = True, generator: torch.Generator | None = None,
    epsilon: float = SPSA_EPSILON, samples: int = 1,
) -> tuple[torch.Tensor | None, torch.Tensor | None]:
    """SPSA estimates of (grad_x [B, k], grad_weights): 2 circuit runs per sample, whatever the parameter count.

    All weights and inputs move together by +-epsilon * Rademacher signs; the loss difference
    divided by 2 epsilon times the sign estimates each gradient (unbiased to O(epsilon^2)).
    Rows do not interact, so each row's input gradient uses that row's loss difference only.
    """
    if samples < 1 or epsilon <= 0:
        raise ConfigError(f"SPSA needs samples >= 1 and epsilon > 0, got samples={samples}, epsilon={epsilon}")
    grad_x = torch.zeros_like(x) if need_x else None
    grad_w = torch.zeros_like(weights) if need_weights else None
    g = grad_output.to(torch.float64)
    for _ in range(samples):
        dw = _rademacher(weights, generator) if need_weights else torch.zeros_like(weights)
        dx = _rademacher(x, generator) if need_x else torch.zeros_like(x)
        f_plus = evaluate_circuit(vqc, x + epsilon * dx, weights + epsilon * dw, generator=generator)
        f_minus = evaluate_circuit(vqc, x - epsilon * dx, weights - epsilon * dw, generator=generator)
        per_row = (g * (f_plus - f_minus).double()).sum(dim=1) / (2 * epsilon)  # [B]
        if need_weights:
            grad_w += per_row.sum().to(weights.dtype) * dw
        if need_x:
            grad_x += per_row.to(x.dtype)[:, None] * dx
    return (grad_x / samples if need_x else None), (grad_w / samples if need_weights else None)


class _CircuitGradient(torch.autograd.Function):
    """Forward: circuit evaluations; backward: parameter-shift or SPSA from more evaluations."""

    @staticmethod
    def forward(ctx, x, weights, vqc, method, generator, spsa_epsilon, spsa_samples):  # noqa: D102
        ctx.save_for_backward(x, weights)
        ctx.config = (vqc, method, generator, spsa_epsilon, spsa_samples)
        return evaluate_circuit(vqc, x.detach(), weights.detach(), generator=generator)

    @staticmethod
    def backward(ctx, grad_output):  # noqa: D102
        x, weights = ctx.saved_tensors
        vqc, method, generator, epsilon, samples = ctx.config
        need_x, need_w = ctx.needs_input_grad[0], ctx.needs_input_grad[1]
        if method == "parameter-shift":
            gx, gw = parameter_shift_grad(vqc, x, weights, grad_output, need_x, need_w, generator)
        else:
            gx, gw = spsa_grad(vqc, x, weights, grad_output, need_x, need_w, generator, epsilon, samples)
        return gx, gw, None, None, None, None, None


def estimate_expectations(
    vqc: VQC, x: torch.Tensor, *, spsa_epsilon: float = SPSA_EPSILON, spsa_samples: int = 1
) -> torch.Tensor:
    """<Z-products> as `vqc.shots` and `vqc.diff_method` prescribe: x [B, k] -> [B, m].

    Shots draw bitstrings with torch.multinomial from the VQC's seeded generator; every
    observable is estimated from the same shots. Gradients: "parameter-shift" (exact with
    shots=None), "spsa" (seeded, 2 runs per step), "backprop" (exact; with shots the gradient is
    the exact expectation's, straight-through).
    """
    x = torch.as_tensor(x)
    method = vqc.diff_method
    if method not in GRADIENT_METHODS:
        raise ConfigError(f"diff_method must be one of {GRADIENT_METHODS}, got {method!r}")
    generator = shot_generator(vqc)
    if method == "backprop":
        if vqc.shots is None:
            return vqc.exact_expectations(x, vqc.weights)
        if getattr(vqc.backend, "owns_estimate", False):  # device backends: shots with mitigation
            xx, w = vqc._resolve(x, vqc.weights)
            return vqc.backend.estimate(vqc, xx, w, generator=generator)
        probs = vqc.exact_probabilities(x, vqc.weights)
        exact = probs @ _signs(vqc).to(probs.dtype)
        sampled = shot_estimate(probs, _signs(vqc), vqc.shots, generator)
        return exact + (sampled.to(exact.dtype) - exact).detach()
    if (method == "parameter-shift" and torch.is_grad_enabled() and x.requires_grad
            and any(op.name == "AmplitudeEmbedding" for op in vqc.ops())):
        raise CircuitError(
            "parameter-shift cannot differentiate amplitude-encoded inputs (the embedding has no "
            "rotation angle to shift); pass x without requires_grad or use gradient='spsa' (VQC: diff_method)"
        )
    return _CircuitGradient.apply(x, vqc.weights, vqc, method, generator, spsa_epsilon, spsa_samples)


def circuit_evaluations_per_step(
    vqc: VQC, method: str, batch: int, include_inputs: bool = False, spsa_samples: int = 1
) -> int:
    """Circuit runs (one per input row) for one forward + gradient step over `batch` rows.

    backprop: the forward runs only (the gradient comes from the simulator, not from runs);
    parameter-shift: forward + 2 runs per one-qubit-rotation angle + 4 per controlled-rotation
    angle (weights, plus inputs when include_inputs); spsa: forward + 2 per SPSA sample.
    """
    if method == "backprop":
        per_row = 1
    elif method == "parameter-shift":
        ops = vqc.ops()
        per_row = 1 + sum(len(SHIFT_RULES[ops[i].name]) for i, _ in _shift_slots(ops, True, include_inputs))
    elif method == "spsa":
        per_row = 1 + 2 * spsa_samples
    else:
        raise ConfigError(f"method must be one of {GRADIENT_METHODS}, got {method!r}")
    return batch * per_row
