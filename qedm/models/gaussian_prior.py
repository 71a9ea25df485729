"""A denoiser that learns only the residual over the exact noise prediction of a Gaussian.

For data x0 ~ N(mean, cov) and x_t = a x0 + s eps (a^2 = alpha_bar_t, s^2 = 1 - alpha_bar_t) the
best noise prediction is linear in x_t:

    E[eps | x_t] = s (a^2 cov + s^2 I)^-1 (x_t - a mean),

computed in cov's eigenbasis. `GaussianPriorDenoiser` returns that plus its network's output,
so a network whose read-out starts at zero samples a Gaussian (copula, in the table
transform's space) before any training, and training only has to learn what the Gaussian
misses. DP fits use it with the DP mean and covariance of `qedm.privacy.moments` (DPDM-style
DP-SGD is noise-limited on small tables; the prior carries the pairwise structure).
"""

from __future__ import annotations

import torch
from torch import nn


class GaussianPriorDenoiser(nn.Module):
    """eps(x_t, t[, y]) = gaussian_eps(x_t, t) + net(x_t, t[, y]): x_t [B, d], t [B] -> [B, d].

    Buffers (saved with the weights): mean [d], eigenvectors [d, d], eigenvalues [d] of the
    prior's covariance, alphas_cumprod [T] of the schedule. No trainable parameters of its own.
    """

    def __init__(self, net: nn.Module, mean: torch.Tensor, cov: torch.Tensor, alphas_cumprod: torch.Tensor) -> None:
        super().__init__()
        self.net = net
        values, vectors = torch.linalg.eigh(torch.as_tensor(cov, dtype=torch.float64))
        self.register_buffer("mean", torch.as_tensor(mean, dtype=torch.float32).clone())
        self.register_buffer("eigenvectors", vectors.float())
        self.register_buffer("eigenvalues", values.float())
        self.register_buffer("alphas_cumprod", torch.as_tensor(alphas_cumprod, dtype=torch.float32).clone())
        self.name = getattr(net, "name", "")
        self.config = getattr(net, "config", {})

    def gaussian_eps(self, x_t: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        """E[eps | x_t] for x0 ~ N(mean, cov): [B, d]."""
        a2 = self.alphas_cumprod[t].unsqueeze(1)
        a, s = a2.sqrt(), (1.0 - a2).clamp(min=0.0).sqrt()
        centred = (x_t - a * self.mean) @ self.eigenvectors
        return (centred * s / (a2 * self.eigenvalues + s * s)) @ self.eigenvectors.T

    def forward(self, x_t: torch.Tensor, t: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        residual = self.net(x_t, t) if y is None else self.net(x_t, t, y)
        return self.gaussian_eps(x_t, t) + residual

    def parameter_counts(self) -> dict[str, int]:
        return self.net.parameter_counts()


def zero_readout(net: nn.Module) -> None:
    """Zero the last linear layer of a denoiser's read-out (`out` or `read_out`), so it outputs 0."""
    layer = getattr(net, "out", None) or getattr(net, "read_out", None)
    if isinstance(layer, nn.Sequential):
        layer = layer[-1]
    if not isinstance(layer, nn.Linear):
        return
    with torch.no_grad():
        layer.weight.zero_()
        if layer.bias is not None:
            layer.bias.zero_()
