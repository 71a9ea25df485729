"""Denoisers: eps(x_t, t[, y]) -> noise, classical, hybrid (VQC bottleneck) and quantum."""

from qedm.models.classical import ClassicalDenoiser, matched_classical_hidden
from qedm.models.embeddings import LabelEmbedding, SinusoidalTimeEmbedding
from qedm.models.hybrid import HybridDenoiser
from qedm.models.quantum import QuantumDenoiser
from qedm.models.registry import DENOISERS, build_denoiser, denoiser_arguments

__all__ = [
    "DENOISERS", "ClassicalDenoiser", "HybridDenoiser", "LabelEmbedding", "QuantumDenoiser",
    "SinusoidalTimeEmbedding", "build_denoiser", "denoiser_arguments", "matched_classical_hidden",
]
