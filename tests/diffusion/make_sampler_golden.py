"""Write tests/diffusion/data/sampler_golden.pt: samples of the pre-scheduler samplers for fixed seeds.

Run once, on the commit before the scheduler API replaced the four sampler functions
(`python tests/diffusion/make_sampler_golden.py`); test_schedulers.py asserts the schedulers
reproduce these tensors exactly. Each case is (sampler, schedule, n_steps, steps, eta, clip, dtype).
"""

from pathlib import Path

import torch

from qedm.diffusion.clipping import clip_denoised
from qedm.diffusion.samplers import sample
from qedm.diffusion.schedules import make_schedule

CASES = [
    (name, schedule, n_steps, steps, eta, clip, dtype)
    for name in ("ddpm", "ddim", "dpm_solver", "dpm_solver_sde")
    for schedule, n_steps in (("linear", 100), ("cosine", 1000))
    for steps in (None, 7)
    for clip in (False, True)
    for dtype in ("float32", "float64")
    for eta in ((0.0, 0.7) if name == "ddim" else (0.0,))
]


def toy_eps(schedule):
    """A smooth, non-trivial noise predictor of 3 features (nonlinear in x and t)."""
    ab = schedule.alphas_cumprod
    w = torch.tensor([[0.9, -0.3, 0.2], [0.1, 1.1, -0.4], [0.0, 0.5, 0.8]], dtype=torch.float64)

    def eps(x, t):
        a = ab[t].to(x.dtype)[:, None]
        return (1 - a).sqrt() * torch.tanh(x @ w.to(x.dtype)) + 0.3 * a * torch.sin(x)

    return eps


def run_case(case):
    name, schedule_name, n_steps, steps, eta, clip, dtype = case
    sch = make_schedule(schedule_name, n_steps)
    eps = toy_eps(sch)
    if clip:
        eps = clip_denoised(eps, sch, torch.tensor([-1.0, -2.0, -0.5]), torch.tensor([1.0, 0.5, 2.0]))
    return sample(eps, sch, 6, 3, sampler=name, steps=steps, eta=eta, generator=11,
                  dtype=getattr(torch, dtype))


if __name__ == "__main__":
    out = {repr(case): run_case(case) for case in CASES}
    path = Path(__file__).parent / "data" / "sampler_golden.pt"
    torch.save(out, path)
    print(f"wrote {len(out)} cases to {path}")
