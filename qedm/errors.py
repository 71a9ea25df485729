"""The one family of errors qedm raises on purpose; the CLI prints them in one line."""


class QEDMError(Exception):
    """Base class: a problem the user can act on (bad input, bad config, missing extra)."""


class DataError(QEDMError):
    """The input table or dataset cannot be used as given (names the column or file)."""


class ConfigError(QEDMError):
    """An argument or config value is out of range or inconsistent (names the argument)."""


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
