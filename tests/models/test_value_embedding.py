"""The continuous-condition embedding: null vector for NaN, smooth in the value, parameter count."""

import pytest
import torch

from qedm.errors import ConfigError, DataError
from qedm.models.classical import ClassicalDenoiser
from qedm.models.embeddings import ConditionedInput, ValueEmbedding
from qedm.models.registry import build_denoiser


def test_nan_rows_get_the_null_vector_and_others_depend_on_the_value():
    torch.manual_seed(0)
    embed = ValueEmbedding(16)
    with torch.no_grad():
        embed.null.copy_(torch.randn(16))
    y = torch.tensor([0.5, float("nan"), -1.0])
    out = embed(y, 3)
    assert out.shape == (3, 16)
    assert torch.equal(out[1], embed.null)
    assert torch.equal(embed(None, 3), embed.null.expand(3, -1))
    assert not torch.allclose(out[0], out[2])
    # smooth: a nearby value gives a nearby vector, closer than a distant one
    near = embed(torch.tensor([0.51]), 1)[0]
    assert (near - out[0]).norm() < 0.1 * (out[2] - out[0]).norm()
    with pytest.raises(DataError, match="float tensor"):
        embed(torch.tensor([1, 2, 3]), 3)


def test_parameter_count_closed_form_and_gradients():
    stem = ConditionedInput(5, 12, 8, continuous=True)
    assert sum(p.numel() for p in stem.parameters()) == ConditionedInput.count_parameters(5, 12, 8, continuous=True)
    model = ClassicalDenoiser(5, hidden=12, n_blocks=1, time_dim=8, continuous_condition=True, seed=0)
    total = model.parameter_counts()["total"]
    assert total == ClassicalDenoiser.count_parameters(5, 12, 1, 8, continuous_condition=True)
    out = model(torch.randn(4, 5), torch.tensor([0, 5, 10, 20]), torch.tensor([0.1, 0.2, float("nan"), 1.0]))
    out.sum().backward()
    assert model.stem.label_embed.mlp[0].weight.grad.abs().sum() > 0
    assert model.stem.label_embed.null.grad.abs().sum() > 0


@pytest.mark.parametrize("name", ["hybrid", "quantum"])
def test_circuit_denoisers_take_a_continuous_condition(name):
    width = {"hidden": 8} if name == "hybrid" else {}
    model = build_denoiser(name, 4, n_qubits=3, n_layers=1, time_dim=4, continuous_condition=True, seed=0, **width)
    y = torch.tensor([0.3, -0.3])
    a = model(torch.zeros(2, 4), torch.tensor([3, 3]), y)
    b = model(torch.zeros(2, 4), torch.tensor([3, 3]), y.flip(0))
    assert torch.allclose(a, b.flip(0), atol=1e-6) and not torch.allclose(a[0], a[1])


def test_classes_and_values_together_are_refused():
    with pytest.raises(ConfigError, match="not both"):
        ConditionedInput(3, 8, 4, n_classes=2, continuous=True)
