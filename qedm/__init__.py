"""qedm: quantum-enhanced diffusion models for synthetic data."""
__version__ = "0.1.0"
