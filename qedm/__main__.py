"""`python -m qedm ...` (and `torchrun ... -m qedm fit ...`): the qedm command line."""

from qedm.cli import app

app()
