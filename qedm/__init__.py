"""qedm: quantum-enhanced diffusion models for synthetic data.

The public API: `QEDM` (fit / sample / save / load), `evaluate`, `load_dataset`,
`list_datasets` and the circuit module `VQC`. Imported on first use, so that
`import qedm` (and the CLI) start fast.
"""

import sys
import types

__version__ = "0.2.0"

_PUBLIC = {
    "QEDM": "qedm.synthesizer",
    "QEDMConfig": "qedm.config",
    "evaluate": "qedm.evaluate",
    "load_dataset": "qedm.data.datasets",
    "list_datasets": "qedm.data.datasets",
    "VQC": "qedm.quantum.circuits",
}
__all__ = ["__version__", *_PUBLIC]


class _Package(types.ModuleType):
    """The `qedm` module: `qedm.evaluate` stays the function when the subpackage is imported.

    Importing `qedm.evaluate` (the subpackage) makes Python set the attribute `evaluate` of
    `qedm` to that module; this class keeps the function there instead, so `qedm.evaluate`
    and `from qedm import evaluate` are always `qedm.evaluate.core.evaluate`. The subpackage
    stays importable by name (`from qedm.evaluate import METRICS`).
    """

    def __setattr__(self, name: str, value) -> None:
        if name == "evaluate" and isinstance(value, types.ModuleType):
            value = value.evaluate
        super().__setattr__(name, value)


sys.modules[__name__].__class__ = _Package


def __getattr__(name: str):
    if name not in _PUBLIC:
        raise AttributeError(f"module 'qedm' has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(_PUBLIC[name]), name)
