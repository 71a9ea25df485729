"""Baselines for the benchmark: the fit/sample protocol, QEDM adapters and SDV's synthesizers."""

from qedm.baselines.protocol import MODEL_NAMES, QEDM_MODELS, SDV_MODELS, QEDMModel, Synthesizer, make_model
from qedm.baselines.sdv_models import SDVModel

__all__ = ["MODEL_NAMES", "QEDM_MODELS", "SDV_MODELS", "QEDMModel", "SDVModel", "Synthesizer", "make_model"]
