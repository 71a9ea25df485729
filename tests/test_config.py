"""QEDMConfig: validation names the argument, files round-trip."""

import pytest

from qedm.config import QEDMConfig
from qedm.errors import ConfigError


def test_defaults_are_valid_and_round_trip_through_dict():
    config = QEDMConfig()
    assert QEDMConfig.from_dict(config.to_dict()) == config


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"denoiser": "transformer"}, "denoiser='transformer' is not one of"),
        ({"n_qubits": 0}, "n_qubits must be a positive integer"),
        ({"n_qubits": 40}, "too large"),
        ({"epochs": 2.5}, "epochs must be a positive integer"),
        ({"lr": 0.0}, "lr must be > 0"),
        ({"sampler": "euler"}, "sampler='euler'"),
        ({"sample_steps": 5000}, "exceeds n_steps"),
        ({"latent": "vae"}, "latent='vae'"),
    ],
)
def test_bad_values_name_the_argument(changes, message):
    with pytest.raises(ConfigError, match=message):
        QEDMConfig(**changes)


def test_unknown_key_is_named():
    with pytest.raises(ConfigError, match="unknown config key.*n_qbits"):
        QEDMConfig.from_dict({"n_qbits": 4})


def test_yaml_file_overrides_defaults_and_cli_overrides_file(tmp_path):
    path = tmp_path / "config.yaml"
    path.write_text("denoiser: classical\nepochs: 7\n")
    config = QEDMConfig.from_file(path).updated(epochs=9, seed=None)
    assert (config.denoiser, config.epochs, config.seed) == ("classical", 9, 0)


def test_bad_config_files_are_reported(tmp_path):
    with pytest.raises(ConfigError, match="not found"):
        QEDMConfig.from_file(tmp_path / "missing.yaml")
    path = tmp_path / "list.yaml"
    path.write_text("- 1\n- 2\n")
    with pytest.raises(ConfigError, match="must hold a mapping"):
        QEDMConfig.from_file(path)


def test_auto_latent_compresses_only_for_the_quantum_denoiser():
    assert QEDMConfig(denoiser="quantum").resolved_latent == "pca"
    assert QEDMConfig(denoiser="hybrid").resolved_latent == "none"
    assert QEDMConfig(denoiser="hybrid", latent="ae").resolved_latent == "ae"
