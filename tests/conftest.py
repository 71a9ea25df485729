"""Shared test set-up: slow tests run only when asked for (QEDM_SLOW=1 or -m slow)."""
import os

import pytest


def pytest_collection_modifyitems(config, items):
    run_slow = os.environ.get("QEDM_SLOW") == "1" or "slow" in (config.getoption("-m") or "")
    skip_slow = pytest.mark.skip(reason="slow: set QEDM_SLOW=1 to run")
    has_cuda = False
    try:
        import torch

        has_cuda = torch.cuda.is_available()
    except ImportError:
        pass
    skip_gpu = pytest.mark.skip(reason="needs a CUDA device")
    for item in items:
        if "slow" in item.keywords and not run_slow:
            item.add_marker(skip_slow)
        if "gpu" in item.keywords and not has_cuda:
            item.add_marker(skip_gpu)
