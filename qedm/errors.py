"""The one family of errors qedm raises on purpose; the CLI prints them in one line.

These are for problems the user can act on. A broken internal contract (a denoiser returning
the wrong shape, a scheduler stepped out of order) raises a plain exception instead, so the CLI
shows its traceback rather than hiding a bug behind a one-line message.
"""


class QEDMError(Exception):
    """Base class: a problem the user can act on (bad input, bad config, missing extra)."""


class DataError(QEDMError, ValueError):
    """The input table or dataset cannot be used as given (names the column or file).

    Also a ValueError, so `except ValueError` (scikit-learn's habit for bad input) catches it.
    """


class ConfigError(QEDMError, ValueError):
    """An argument or config value is out of range or inconsistent (names the argument).

    Also a ValueError, so `except ValueError` (scikit-learn's habit for bad settings) catches it.
    """


class CircuitError(QEDMError):
    """A circuit cannot be built or run as asked (qubit counts, encodings, shapes)."""


class MissingExtraError(QEDMError):
    """An optional dependency is needed: the message says which `pip install qedm[...]`."""


def require(module: str, extra: str):
    """Import an optional module or raise MissingExtraError naming the extra to install."""
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise MissingExtraError(
            f"this feature needs the optional package '{module}': pip install 'qedm[{extra}]'"
        ) from exc
