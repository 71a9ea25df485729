"""Per-sample gradients of every denoiser (Opacus hooks + the VQC grad sampler) vs single-row backward passes."""

import pytest
import torch

pytest.importorskip("opacus")
from opacus import GradSampleModule  # noqa: E402

from qedm.models.registry import build_denoiser  # noqa: E402
from qedm.privacy.dp import _average_copies  # noqa: E402
from qedm.privacy.grad_sample import per_row_expectations, register_vqc_grad_sampler  # noqa: E402

CASES = [
    ("classical", {"hidden": 8, "n_blocks": 1}),
    ("hybrid", {"hidden": 8, "n_blocks": 1, "n_qubits": 3, "n_layers": 2}),
    ("hybrid", {"hidden": 8, "n_blocks": 0, "n_qubits": 3, "n_layers": 2, "encoding": "angle"}),
    ("quantum", {"n_qubits": 3, "n_layers": 2}),
    ("quantum", {"n_qubits": 3, "n_layers": 1, "encoding": "iqp", "entangler": "all"}),
    ("quantum", {"n_qubits": 2, "n_layers": 2, "encoding": "amplitude"}),
]


def _double(model):
    """The model in float64 (the VQC in complex128), so that 1e-10 agreement is meaningful."""
    model = model.double()
    vqc = getattr(model, "vqc", None)
    if vqc is not None:
        vqc.dtype, vqc.real_dtype = torch.complex128, torch.float64
        vqc.signs = vqc.signs.double()
        vqc.iqp_signs = vqc.iqp_signs.double()
    return model


@pytest.mark.parametrize("name,kwargs", CASES)
def test_per_sample_gradients_equal_single_row_backward(name, kwargs):
    register_vqc_grad_sampler()
    model = _double(build_denoiser(name, 3, seed=0, n_classes=2, **kwargs))
    gen = torch.Generator().manual_seed(1)
    x = torch.randn(5, 3, generator=gen, dtype=torch.float64)
    t = torch.randint(0, 50, (5,), generator=gen)
    y = torch.tensor([0, 1, -1, 1, 0])
    target = torch.randn(5, 3, generator=gen, dtype=torch.float64)
    wrapped = GradSampleModule(model, loss_reduction="sum", strict=False)
    ((wrapped(x, t, y) - target) ** 2).sum().backward()
    per_sample = {n: p.grad_sample.clone() for n, p in model.named_parameters()}
    wrapped._close()
    for i in range(5):
        model.zero_grad()
        ((model(x[i:i + 1], t[i:i + 1], y[i:i + 1]) - target[i:i + 1]) ** 2).sum().backward()
        for n, p in model.named_parameters():
            torch.testing.assert_close(per_sample[n][i], p.grad, atol=1e-10, rtol=1e-8, msg=f"{name} {n} row {i}")


def test_per_row_circuit_matches_the_fast_kernel():
    model = build_denoiser("quantum", 3, seed=0, n_qubits=3, n_layers=3)
    x = torch.randn(4, model.vqc.n_inputs)
    weights = model.vqc.weights.detach().expand(4, *model.vqc.weights.shape)
    torch.testing.assert_close(per_row_expectations(model.vqc, x, weights), model.vqc(x), atol=1e-5, rtol=1e-5)


def test_average_copies_is_the_gradient_of_the_row_mean_loss():
    """K adjacent copies of a row -> one per-row gradient: that of the mean of its K losses."""
    model = build_denoiser("classical", 2, seed=0, hidden=4, n_blocks=1).double()
    x = torch.randn(3, 2, dtype=torch.float64)
    t = torch.randint(0, 10, (6,))
    noise = torch.randn(6, 2, dtype=torch.float64)
    wrapped = GradSampleModule(model, loss_reduction="sum", strict=False)
    ((wrapped(x.repeat_interleave(2, 0), t) - noise) ** 2).sum().backward()
    _average_copies(wrapped, 3, 2)
    averaged = {n: p.grad_sample.clone() for n, p in model.named_parameters()}
    wrapped._close()
    for i in range(3):
        model.zero_grad()
        rows = slice(2 * i, 2 * i + 2)
        (((model(x[i:i + 1].repeat(2, 1), t[rows]) - noise[rows]) ** 2).sum() / 2).backward()
        for n, p in model.named_parameters():
            torch.testing.assert_close(averaged[n][i], p.grad, atol=1e-10, rtol=1e-8)


def test_per_sample_gradients_through_the_gaussian_prior():
    """The prior adds a fixed function of x_t: the network's per-row gradients are still exact."""
    from qedm.diffusion.schedules import make_schedule
    from qedm.models.gaussian_prior import GaussianPriorDenoiser

    register_vqc_grad_sampler()
    net = _double(build_denoiser("hybrid", 3, seed=0, hidden=8, n_blocks=1, n_qubits=3, n_layers=2))
    model = GaussianPriorDenoiser(net, torch.zeros(3), torch.eye(3) * 2, make_schedule("cosine", 50).alphas_cumprod)
    model = model.double()
    gen = torch.Generator().manual_seed(1)
    x = torch.randn(4, 3, generator=gen, dtype=torch.float64)
    t = torch.randint(0, 50, (4,), generator=gen)
    wrapped = GradSampleModule(model, loss_reduction="sum", strict=False)
    (wrapped(x, t) ** 2).sum().backward()
    per_sample = {n: p.grad_sample.clone() for n, p in model.named_parameters()}
    wrapped._close()
    for i in range(4):
        model.zero_grad()
        (model(x[i:i + 1], t[i:i + 1]) ** 2).sum().backward()
        for n, p in model.named_parameters():
            torch.testing.assert_close(per_sample[n][i], p.grad, atol=1e-10, rtol=1e-8, msg=f"{n} row {i}")
