"""qedm: quantum-enhanced diffusion models for synthetic data.

The public API: `QEDM` (fit / sample / save / load), `evaluate`, `load_dataset`,
`list_datasets` and the circuit module `VQC`. Imported on first use, so that
`import qedm` (and the CLI) start fast.
"""

__version__ = "0.1.0"

_PUBLIC = {
    "QEDM": "qedm.synthesizer",
    "QEDMConfig": "qedm.config",
    "evaluate": "qedm.evaluate",
    "load_dataset": "qedm.data.datasets",
    "list_datasets": "qedm.data.datasets",
    "VQC": "qedm.quantum.circuits",
}
__all__ = ["__version__", *_PUBLIC]


def __getattr__(name: str):
    if name not in _PUBLIC:
        raise AttributeError(f"module 'qedm' has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(_PUBLIC[name]), name)
