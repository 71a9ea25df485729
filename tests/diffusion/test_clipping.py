"""clip_denoised: exact eps passes through when x0 is in range; out-of-range x0 is clamped."""

import torch

from qedm.diffusion.clipping import clip_denoised
from qedm.diffusion.process import predict_x0, q_sample
from qedm.diffusion.schedules import CosineSchedule


def test_in_range_prediction_is_unchanged_and_out_of_range_is_clamped():
    schedule = CosineSchedule(100)
    generator = torch.Generator().manual_seed(0)
    x0 = torch.rand(64, 3, generator=generator) * 2 - 1  # inside [-1, 1]
    eps = torch.randn(64, 3, generator=generator)
    t = torch.randint(0, 100, (64,), generator=generator)
    x_t = q_sample(x0, t, eps, schedule)
    low, high = -torch.ones(3), torch.ones(3)

    exact = clip_denoised(lambda x, tt: eps, schedule, low, high)
    assert torch.allclose(exact(x_t, t), eps, atol=1e-3)

    wrong = clip_denoised(lambda x, tt: eps + 5.0, schedule, low, high)
    implied = predict_x0(x_t, t, wrong(x_t, t), schedule)
    assert implied.min() >= -1 - 1e-3 and implied.max() <= 1 + 1e-3
    unclipped = predict_x0(x_t, t, eps + 5.0, schedule)
    assert unclipped.abs().max() > 2  # the case the wrapper exists for
