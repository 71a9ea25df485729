"""Fully quantum dense denoisers for small images: the whole image is one amplitude-encoded state.

`QuantumDenseDenoiser` (qedm's): the 64 pixels of the (centred, scaled) input are
amplitude-encoded on 6 qubits; the circuit is `n_blocks` blocks of strongly-entangling layers
(Rot on every qubit, then an entangler on the pairs (q, q+r mod n), r = l mod (n-1) + 1 for
layer l, as PennyLane's StronglyEntanglingLayers): entangler="cnot" uses CNOTs,
"crx" (default) trainable CRX gates that start at angle 0, so the circuit starts near the
identity instead of near a CNOT permutation (which made training far slower). Before each
block the timestep (and class label) is re-uploaded as rotation angles:
RY(a[k,q] * pi t/(T-1)) (optionally also RZ), then RX(c[k, y, q]) on every qubit q; with
time_phases=True a diagonal gate with phases pi t/(T-1) u_j + v_j on basis state j sits
between blocks, so the t-dependence can act per direction of the data. The output is read
from the final state psi: F = s_amp * Re(psi) * ||x_in|| + s_prob * (2**n |psi|^2 - 1) + b,
with per-pixel scale/shift vectors. Multiplying by ||x_in|| gives back the norm that
amplitude encoding drops (a classical number the state preparation needs anyway), so the
amplitude path is an x-linear map U(t) x and the probability path adds quadratic features.
Given the schedule, F is used as an x0-predictor with Karras et al.'s preconditioning around
a learned mean image (see `forward`); without it, F is the eps prediction itself.
Classical parameters: s_amp, s_prob, b and the mean image (64 each; with n_classes one mean
image per class and one for "no class"); all others are angles.

`KolleDenseDenoiser`: the "Q-Dense" model of Koelle et al. 2024 (arXiv:2401.07049, public
code `QDenseUndirected`), rebuilt on qedm's simulator: amplitude embedding of the image in
[0, 1], StronglyEntanglingLayers(pi * tanh(w)) of depth 55 (990 angles, init N(0, 0.4^2)),
output 64 * probs clamped to [0, 1]; no timestep or label input. It is trained by its own
protocol (see benchmarks/bench_digits.py), not by the DDPM loss.

Execution: the layers of a block do not depend on the input, so each block is fused into one
64 x 64 matrix per forward (the identity pushed through the layers with the simulator's
kron-factored kernels), then applied to the batch with one matmul.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from qedm.choices import DENSE_ENTANGLERS, DENSE_READOUTS
from qedm.errors import ConfigError
from qedm.models.configs import QuantumDenseConfig
from qedm.quantum.circuits import entangler_pairs
from qedm.quantum.gates import gate_matrix, real_dtype
from qedm.quantum.ir import Op, Param
from qedm.quantum.simulator import amplitude_state, apply_gate, apply_local_product, cnot_permutation

READOUTS, ENTANGLERS = DENSE_READOUTS, DENSE_ENTANGLERS


def n_qubits_for(data_dim: int) -> int:
    """Qubits whose 2**n amplitudes hold data_dim values."""
    if isinstance(data_dim, bool) or not isinstance(data_dim, int) or data_dim < 2:
        raise ConfigError(f"data_dim must be an integer >= 2, got {data_dim!r}")
    return max(1, math.ceil(math.log2(data_dim)))


def strongly_entangling_pairs(n_qubits: int, layer: int) -> list[tuple[int, int]]:
    """CNOT (control, target) pairs of layer `layer` of StronglyEntanglingLayers (`entangler_pairs(., "strong")`)."""
    return entangler_pairs(n_qubits, "strong", layer)


class StronglyEntanglingBlock(nn.Module):
    """Strongly-entangling layers; `matrix(angles)` gives the fused block, transposed.

    angles [L, n, 3] (Rot) and, for entangler="crx", ent_angles [L, n] (one CRX per SEL pair)
    -> M [2**n, 2**n] with M = U^T, so that `state @ M` applies U to rows.
    entangler="cnot" is PennyLane's StronglyEntanglingLayers; "crx" puts a trainable CRX(phi)
    on each of its (control, target) pairs, so that all-zero angles make the block the identity.
    """

    def __init__(self, n_qubits: int, first_layer: int, n_layers: int, dtype: torch.dtype,
                 entangler: str = "cnot") -> None:
        super().__init__()
        self.n_qubits, self.n_layers, self.dtype, self.entangler = n_qubits, n_layers, dtype, entangler
        self.pairs = [strongly_entangling_pairs(n_qubits, first_layer + layer) for layer in range(n_layers)]
        perms = [cnot_permutation(p, n_qubits) for p in self.pairs]
        self.register_buffer("perms", torch.stack(perms) if perms else torch.zeros(0, 2**n_qubits, dtype=torch.long),
                             persistent=False)

    @staticmethod
    def shape(n_qubits: int, n_layers: int, entangler: str = "cnot") -> dict[str, tuple[int, ...]]:
        """Shapes of the block's angles: Rot [L, n, 3], and for "crx" one CRX angle per pair [L, n]."""
        shapes: dict[str, tuple[int, ...]] = {"angles": (n_layers, n_qubits, 3)}
        if entangler == "crx":
            shapes["ent_angles"] = (n_layers, n_qubits)
        return shapes

    def ops(self) -> list[Op]:
        """The block as the shared Op IR; weights are `angles.flatten()` then (crx) `ent_angles.flatten()`."""
        n, ops = self.n_qubits, []
        n_rot = 3 * n * self.n_layers
        for layer, pairs in enumerate(self.pairs):
            base = 3 * n * layer
            ops += [Op("Rot", (q,), tuple(Param("weight", (base + 3 * q + p,)) for p in range(3))) for q in range(n)]
            if self.entangler == "crx":
                ops += [Op("CRX", pair, (Param("weight", (n_rot + n * layer + q,)),)) for q, pair in enumerate(pairs)]
            else:
                ops += [Op("CNOT", pair) for pair in pairs]
        return ops

    def matrix(self, angles: torch.Tensor, ent_angles: torch.Tensor | None = None) -> torch.Tensor:
        """The fused block U^T [2**n, 2**n] (`state @ M` applies U to rows); the fast form of `ops()`."""
        rot = gate_matrix("Rot", angles, self.dtype)  # [L, n, 2, 2]
        crx = gate_matrix("CRX", ent_angles[..., None], self.dtype) if self.entangler == "crx" else None
        state = torch.eye(2**self.n_qubits, dtype=self.dtype, device=angles.device)
        for layer in range(self.n_layers):
            state = apply_local_product(state, rot[layer], self.n_qubits)
            if crx is None:
                state = state[:, self.perms[layer]]
                continue
            for q, pair in enumerate(self.pairs[layer]):
                state = apply_gate(state, crx[layer, q], pair, self.n_qubits)
        return state


def _split_layers(n_layers: int, n_blocks: int) -> list[tuple[int, int]]:
    """(first_layer, size) of n_blocks near-equal consecutive chunks of n_layers."""
    sizes = [n_layers // n_blocks + (1 if b < n_layers % n_blocks else 0) for b in range(n_blocks)]
    return [(sum(sizes[:b]), sizes[b]) for b in range(n_blocks)]


class QuantumDenseDenoiser(nn.Module):
    """eps-prediction by one circuit on the amplitude-encoded image: x_t [B, D], t [B] (, y [B]) -> [B, D].

    The defaults are the ~1,000-parameter model of benchmarks/bench_digits.py (pass the
    diffusion `schedule` to get its preconditioning; lr 1e-2 there).
    """

    settings = QuantumDenseConfig  # its settings and their defaults, declared once

    def __init__(
        self,
        data_dim: int = 64,
        n_layers: int = QuantumDenseConfig.n_layers,
        n_blocks: int = QuantumDenseConfig.n_blocks,
        n_classes: int | None = None,
        n_steps: int = 1000,
        readout: str = QuantumDenseConfig.readout,
        entangler: str = QuantumDenseConfig.entangler,
        schedule=None,
        sigma_data: float = QuantumDenseConfig.sigma_data,
        clip_denoised: bool = QuantumDenseConfig.clip_denoised,
        time_gates: tuple[str, ...] = QuantumDenseConfig.time_gates,
        time_phases: bool = QuantumDenseConfig.time_phases,
        init_std: float = QuantumDenseConfig.init_std,
        seed: int | None = None,
        dtype: torch.dtype = torch.complex64,
    ) -> None:
        super().__init__()
        self.data_dim, self.n_qubits = data_dim, n_qubits_for(data_dim)
        if isinstance(n_layers, bool) or not isinstance(n_layers, int) or n_layers < 1:
            raise ConfigError(f"n_layers must be a positive integer, got {n_layers!r}")
        if isinstance(n_blocks, bool) or not isinstance(n_blocks, int) or not 1 <= n_blocks <= n_layers:
            raise ConfigError(f"n_blocks must be an integer in 1..n_layers={n_layers}, got {n_blocks!r}")
        if n_classes is not None and (not isinstance(n_classes, int) or n_classes < 1):
            raise ConfigError(f"n_classes must be a positive integer or None, got {n_classes!r}")
        if readout not in READOUTS:
            raise ConfigError(f"readout={readout!r} is not one of: {', '.join(READOUTS)}")
        time_gates = tuple(time_gates)
        if not time_gates or any(g not in ("RX", "RY", "RZ") for g in time_gates):
            raise ConfigError(f"time_gates must be a non-empty sequence of RX/RY/RZ, got {time_gates!r}")
        self.time_gates = time_gates
        if entangler not in ENTANGLERS:
            raise ConfigError(f"entangler={entangler!r} is not one of: {', '.join(ENTANGLERS)}")
        if isinstance(n_steps, bool) or not isinstance(n_steps, int) or n_steps < 2:
            raise ConfigError(f"n_steps must be an integer >= 2, got {n_steps!r}")
        self.n_layers, self.n_blocks, self.n_classes = n_layers, n_blocks, n_classes
        self.n_steps, self.readout, self.dtype = n_steps, readout, dtype
        n, dim = self.n_qubits, 2**self.n_qubits
        gen = torch.Generator().manual_seed(seed) if seed is not None else None
        self.weights = nn.Parameter(torch.randn(n_layers, n, 3, generator=gen) * init_std)
        # CRX angles start at 0: with small Rot angles the circuit starts near the identity.
        self.ent_angles = nn.Parameter(torch.zeros(n_layers, n)) if entangler == "crx" else None
        # time_angles[k, q, g]: the coefficient of pi t/(T-1) in time gate g (RY, then RZ) of block k.
        self.time_angles = nn.Parameter(torch.randn(n_blocks, n, len(time_gates), generator=gen) * init_std)
        # A diagonal gate between blocks: phase tau * u_j + v_j on basis state j (PennyLane's
        # DiagonalQubitUnitary), so the circuit's t-dependence can act per direction of the data.
        self.phase_time = self.phase_offset = None
        if time_phases:
            self.phase_time = nn.Parameter(torch.randn(n_blocks - 1, dim, generator=gen) * init_std)
            self.phase_offset = nn.Parameter(torch.zeros(n_blocks - 1, dim))
        self.label_angles = None
        if n_classes is not None:  # row n_classes is the null class (label -1, classifier-free guidance)
            self.label_angles = nn.Parameter(torch.randn(n_blocks, n_classes + 1, n, generator=gen) * init_std)
        self.blocks = nn.ModuleList(StronglyEntanglingBlock(n, first, size, dtype, entangler)
                                    for first, size in _split_layers(n_layers, n_blocks))
        self.amp_scale = nn.Parameter(torch.ones(dim)) if readout != "probability" else None
        self.prob_scale = nn.Parameter(torch.zeros(dim) if readout == "both" else torch.ones(dim)) \
            if readout != "amplitude" else None
        self.shift = nn.Parameter(torch.zeros(dim))
        self.sigma_data, self.clip_denoised = float(sigma_data), bool(clip_denoised)
        self.preconditioned = schedule is not None
        if schedule is not None:
            if schedule.n_steps != n_steps:
                raise ConfigError(f"schedule has {schedule.n_steps} steps but n_steps={n_steps}")
            # float64: 1 - alpha_bar near t = 0 needs the digits float32 would drop.
            self.register_buffer("alphas_cumprod", schedule.alphas_cumprod.double(), persistent=False)
            # a learned mean image m (classical); with classes, one per class plus the null class: a
            # unitary on the amplitude-encoded noise averages to no class-specific image, so without
            # it the label cannot steer samples at high noise (measured: class accuracy at chance)
            rows = () if n_classes is None else (n_classes + 1,)
            self.center = nn.Parameter(torch.zeros(*rows, data_dim))

    def parameter_counts(self) -> dict[str, int]:
        """Trainable parameters: circuit angles ("quantum") and readout scale/shift ("classical")."""
        angles = (self.weights, self.ent_angles, self.time_angles, self.label_angles, self.phase_time,
                  self.phase_offset)
        quantum = sum(p.numel() for p in angles if p is not None)
        total = sum(p.numel() for p in self.parameters() if p.requires_grad)
        return {"classical": total - quantum, "quantum": quantum, "total": total}

    def _labels(self, y: torch.Tensor | None, batch: int, device) -> torch.Tensor:
        if y is None:
            return torch.full((batch,), self.n_classes, dtype=torch.long, device=device)
        y = torch.as_tensor(y, device=device).long().reshape(-1)
        if y.shape[0] != batch:
            raise ConfigError(f"y has {y.shape[0]} labels for a batch of {batch}")
        if bool(((y < -1) | (y >= self.n_classes)).any()):
            raise ConfigError(f"labels must lie in -1..{self.n_classes - 1} (-1 = no class)")
        return torch.where(y < 0, torch.full_like(y, self.n_classes), y)

    def final_state(self, x_t: torch.Tensor, t: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        """The circuit's output state: x_t [B, D], t [B] -> [B, 2**n] complex."""
        if x_t.dim() != 2 or x_t.shape[1] != self.data_dim:
            raise ConfigError(f"x_t must have shape [B, {self.data_dim}], got {tuple(x_t.shape)}")
        batch, n = x_t.shape[0], self.n_qubits
        # A row of exact zeros has no direction; a tiny offset keeps it encodable.
        x = x_t.to(real_dtype(self.dtype))
        x = x + (x.abs().sum(1, keepdim=True) == 0).to(x.dtype) * 1e-6
        state = amplitude_state(x, n, self.dtype)
        tau = torch.as_tensor(t, device=x.device).to(x.dtype).reshape(-1, 1) * (math.pi / (self.n_steps - 1))
        labels = self._labels(y, batch, x.device) if self.label_angles is not None else None
        for k, block in enumerate(self.blocks):
            if k > 0 and self.phase_time is not None:
                phase = tau * self.phase_time[k - 1] + self.phase_offset[k - 1]  # [B, 2**n]
                state = state * torch.polar(torch.ones_like(phase), phase).to(self.dtype)
            mats = None
            for g, gate in enumerate(self.time_gates):
                m = gate_matrix(gate, (tau * self.time_angles[k, :, g])[..., None], self.dtype)  # [B, n, 2, 2]
                mats = m if mats is None else m @ mats
            if labels is not None:
                mats = gate_matrix("RX", self.label_angles[k][labels][..., None], self.dtype) @ mats
            state = apply_local_product(state, mats, n)
            first = sum(b.n_layers for b in self.blocks[:k])
            ent = self.ent_angles[first:first + block.n_layers] if self.ent_angles is not None else None
            state = state @ block.matrix(self.weights[first:first + block.n_layers], ent)
        return state

    def circuit_output(self, x_in: torch.Tensor, t: torch.Tensor, y: torch.Tensor | None) -> torch.Tensor:
        """Circuit output: s_amp * Re(psi) * ||x_in|| + s_prob * (2**n |psi|^2 - 1) + b: [B, D]."""
        state = self.final_state(x_in, t, y)[:, : self.data_dim]
        out = self.shift[: self.data_dim].expand(x_in.shape[0], -1)
        if self.amp_scale is not None:
            norm = x_in.to(state.real.dtype).norm(dim=1, keepdim=True)
            out = out + self.amp_scale[: self.data_dim] * state.real * norm
        if self.prob_scale is not None:
            probs = state.real**2 + state.imag**2
            out = out + self.prob_scale[: self.data_dim] * (probs * 2**self.n_qubits - 1)
        return out

    def forward(self, x_t: torch.Tensor, t: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        """Predicted noise: x_t [B, D], t [B], y [B] or None -> [B, D].

        With a schedule, the circuit predicts x0 through Karras et al.'s (2022) preconditioning
        around a learned mean image m (one per class when built with n_classes): with sigma = s/a, x~ = x_t/a - m,
        D = m + c_skip x~ + c_out F(c_in x~), and eps = (x_t - a D)/s. In eval mode with
        clip_denoised, D is clipped to the data range [-1, 1] before eps is formed. The circuit's output then needs
        gains near 1 at every noise level,
        which a unitary map can give; predicting eps directly needs gains up to 1/s.
        """
        if y is not None and self.n_classes is None:
            raise ConfigError("this denoiser was built without n_classes; it takes no labels y")
        if not self.preconditioned:
            return self.circuit_output(x_t, t, y).to(x_t.dtype)
        center = self.center if self.n_classes is None else self.center[self._labels(y, x_t.shape[0], x_t.device)]
        return preconditioned_eps(lambda x_in: self.circuit_output(x_in, t, y), x_t, t, self.alphas_cumprod,
                                  center, self.sigma_data, clip=self.clip_denoised and not self.training)


def preconditioned_eps(net, x_t: torch.Tensor, t: torch.Tensor, alphas_cumprod: torch.Tensor,
                       center: torch.Tensor, sigma_data: float, clip: bool = False) -> torch.Tensor:
    """eps from an x0-predictor with Karras et al.'s (2022) preconditioning around a mean image.

    x_t [B, D], t [B]; `net(x_in [B, D]) -> F [B, D]`; alphas_cumprod [T] (float64);
    center [D] or [B, D] the mean image m. With a = sqrt(abar_t), s = sqrt(1 - abar_t), sigma = s/a,
    x~ = x_t/a - m: D = m + c_skip x~ + c_out F(c_in x~), eps = (x_t - a D)/s. `clip` clips
    D to the data range [-1, 1] first (as DDPM's reference sampler does).
    """
    abar = alphas_cumprod.double()[torch.as_tensor(t, device=x_t.device).long()][:, None]
    a, s = abar.sqrt(), (1 - abar).sqrt()
    sigma, sd2 = s / a, sigma_data**2
    c_skip, c_out = sd2 / (sigma**2 + sd2), sigma * sigma_data / (sigma**2 + sd2).sqrt()
    c_in_over_a = sigma / (sigma**2 + sd2).sqrt() / s  # c_in / a, written stably for a -> 0
    x_c = x_t - a.to(x_t.dtype) * center.to(x_t.dtype)  # centred: a (x0 - m) + s eps
    f = net(x_c * c_in_over_a.to(x_t.dtype))
    # D = m + c_skip x_c / a + c_out F, eps = (x_t - a D) / s
    eps = x_c * ((1 - c_skip) / s).to(x_t.dtype) - f.to(x_t.dtype) * (a * c_out / s).to(x_t.dtype)
    if not clip:
        return eps
    a, s = a.to(x_t.dtype), s.to(x_t.dtype)
    denoised = ((x_t - s * eps) / a).clamp(-1.0, 1.0)
    return (x_t - a * denoised) / s


class KolleDenseDenoiser(nn.Module):
    """Koelle et al.'s Q-Dense (undirected): image [B, D] in [0, 1] -> 2**n probs * D clamped to [0, 1]."""

    def __init__(self, data_dim: int = 64, depth: int = 55, seed: int | None = None,
                 dtype: torch.dtype = torch.complex64) -> None:
        super().__init__()
        self.data_dim, self.n_qubits, self.depth = data_dim, n_qubits_for(data_dim), depth
        gen = torch.Generator().manual_seed(seed) if seed is not None else None
        self.weights = nn.Parameter(torch.randn(depth, self.n_qubits, 3, generator=gen) * 0.4)
        self.block = StronglyEntanglingBlock(self.n_qubits, 0, depth, dtype)
        self.dtype = dtype

    def parameter_counts(self) -> dict[str, int]:
        """All 990 (depth 55 x 6 qubits x 3) parameters are circuit angles."""
        return {"classical": 0, "quantum": self.weights.numel(), "total": self.weights.numel()}

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x [B, D] (pixels in [0, 1]) -> [B, D] in [0, 1]."""
        # PennyLane's AmplitudeEmbedding(normalize=True, pad_with=0.1) pads only beyond D.
        dim = 2**self.n_qubits
        x = torch.nn.functional.pad(x.to(real_dtype(self.dtype)), (0, dim - self.data_dim), value=0.1)
        state = amplitude_state(x, self.n_qubits, self.dtype)
        state = state @ self.block.matrix(math.pi * torch.tanh(self.weights))
        probs = state.real**2 + state.imag**2
        return torch.clamp(probs[:, : self.data_dim] * self.data_dim, 0, 1)
