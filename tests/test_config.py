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
    with pytest.raises(ConfigError, match="unknown config key.*'n_qbits'.*'hybrid' denoiser takes"):
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


def test_denoiser_settings_are_routed_into_the_nested_config():
    from qedm.models.configs import ClassicalConfig, HybridConfig

    config = QEDMConfig(denoiser="hybrid", n_qubits=4, epochs=3)
    assert config.denoiser_config == HybridConfig(n_qubits=4) and config.n_qubits == 4 and config.epochs == 3
    assert QEDMConfig(denoiser="classical").denoiser_config == ClassicalConfig()
    assert QEDMConfig.from_dict({"denoiser": "hybrid", "denoiser_config": {"n_layers": 2}, "n_qubits": 5}) \
        == QEDMConfig(n_layers=2, n_qubits=5)
    with pytest.raises(ConfigError, match=r"'n_qubits'.*'classical' denoiser takes \(it takes: hidden, n_blocks"):
        QEDMConfig(denoiser="classical", n_qubits=4)
    with pytest.raises(AttributeError, match="no setting 'n_qubits'"):
        QEDMConfig(denoiser="classical").n_qubits


@pytest.mark.parametrize("denoiser", ["classical", "hybrid", "quantum", "quantum_dense"])
def test_config_json_round_trips_for_every_denoiser(denoiser):
    import json

    config = QEDMConfig(denoiser=denoiser, epochs=7)
    again = QEDMConfig.from_dict(json.loads(config.dumps()))
    assert again == config and json.loads(again.dumps()) == json.loads(config.dumps())


def test_switching_denoiser_keeps_only_chosen_settings_it_takes():
    hybrid = QEDMConfig(denoiser="hybrid", n_qubits=4, hidden=64)
    classical = hybrid.updated(denoiser="classical")
    # hidden was chosen and classical takes it; n_qubits it does not take; n_blocks: classical's default.
    assert (classical.hidden, classical.n_blocks, classical.time_dim) == (64, 2, 32)
    assert hybrid.updated(denoiser="quantum").n_qubits == 4
    with pytest.raises(ConfigError, match="'n_qubits'.*'classical'"):
        hybrid.updated(denoiser="classical", n_qubits=5)


@pytest.mark.parametrize("denoiser", ["classical", "hybrid", "quantum"])
def test_the_default_config_builds_the_denoisers_default_model(denoiser):
    """Defaults agree: QEDM() builds what the denoiser class builds with no arguments."""
    from qedm.models.registry import DENOISERS
    from qedm.synthesizer import QEDM

    built = QEDM(denoiser=denoiser).build_denoiser(5)
    plain = DENOISERS[denoiser](5, seed=0)
    assert built.config == plain.config
    # The defaults users had before one source of truth: hybrid 128/1/32, classical 128/2/32, quantum t 32.
    expected = {"classical": dict(hidden=128, n_blocks=2, time_dim=32),
                "hybrid": dict(hidden=128, n_blocks=1, time_dim=32, n_qubits=6, n_layers=3),
                "quantum": dict(time_dim=32, n_qubits=6, n_layers=3)}[denoiser]
    assert {k: built.config[k] for k in expected} == expected
