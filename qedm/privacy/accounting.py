"""The privacy budget of a fit: one RDP accountant for every release that reads the training rows.

A DP fit makes two kinds of releases: Gaussian noisy counts that fit the table transform
(`qedm.privacy.transform`, sampling rate 1, one step each) and the DP-SGD steps (Poisson
sampling at rate q). Both are subsampled Gaussian mechanisms, so Opacus's RDP accountant
composes them exactly (its history is a list of (noise_multiplier, sample_rate, steps)).
The category selection of the transform (releasing only labels whose noisy count clears a
threshold) costs a separate `selection_delta`, added to the accountant's delta.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

from qedm.errors import ConfigError

# RDP orders searched for the (epsilon, delta) conversion: Opacus's defaults stop at 63, where the
# conversion term log(1/delta) / (alpha - 1) alone is 0.18 at delta = 1e-5, so small epsilons
# (the transform's share of epsilon = 1 is 0.1) need larger orders.
ALPHAS = [1 + x / 10.0 for x in range(1, 100)] + list(range(12, 64)) + [80, 100, 128, 160, 200, 256, 320, 400,
                                                                       512, 640, 800, 1024, 1500, 2048]
TRANSFORM_SHARE = 0.4  # share of epsilon the transform's two noisy-count releases are calibrated to (alone)
MOMENT_SHARE = 0.3  # share of epsilon the Gaussian prior's noisy moments are calibrated to (alone)
SELECTION_SHARE = 0.1  # share of delta spent on releasing category labels


def check_budget(epsilon: float, delta: float) -> None:
    """ConfigError naming the argument unless epsilon > 0 and 0 < delta < 1."""
    if isinstance(epsilon, bool) or not isinstance(epsilon, (int, float)) or not epsilon > 0:
        raise ConfigError(f"dp_epsilon must be > 0, got {epsilon!r}")
    if isinstance(delta, bool) or not isinstance(delta, (int, float)) or not 0 < delta < 1:
        raise ConfigError(f"dp_delta must lie in (0, 1), got {delta!r}")


def rdp_epsilon(history: list[tuple[float, float, int]], delta: float) -> float:
    """(epsilon at delta) of a composition of subsampled Gaussian mechanisms (Opacus RDP)."""
    from opacus.accountants import RDPAccountant

    accountant = RDPAccountant()
    accountant.history = list(history)
    return float(accountant.get_epsilon(delta, alphas=ALPHAS))


def calibrate(history_of, target: float, delta: float, low: float = 0.05, high: float = 500.0) -> float:
    """The smallest noise multiplier z (to 0.1 %) with rdp_epsilon(history_of(z), delta) <= target.

    `history_of(z)` builds the accountant history for noise multiplier z; epsilon falls as z grows.
    """
    if rdp_epsilon(history_of(high), delta) > target:
        raise ConfigError(f"dp_epsilon={target:g} cannot be reached with noise multiplier <= {high:g}; "
                          "raise dp_epsilon or lower the epochs")
    while high / low > 1.001:
        mid = (low * high) ** 0.5
        if rdp_epsilon(history_of(mid), delta) <= target:
            high = mid
        else:
            low = mid
    return high


@dataclass
class PrivacyGuarantee:
    """What a DP fit achieved: (epsilon, delta) of the whole fit and how it splits.

    epsilon/delta: the guarantee of everything released (weights, transform, class priors),
    for add/remove-one-row neighbours, with the row count treated as public.
    """

    epsilon: float
    delta: float
    target_epsilon: float
    target_delta: float
    accountant: str
    noise_multiplier: float  # DP-SGD noise std / max_grad_norm
    max_grad_norm: float
    sample_rate: float
    steps: int
    transform_noise_multiplier: float
    transform_releases: int
    selection_delta: float
    public: list[str]  # what was declared public rather than learnt privately

    def to_dict(self) -> dict:
        return asdict(self)

    def text(self) -> str:
        """One line for the CLI and the model card."""
        return (f"(epsilon={self.epsilon:.3f}, delta={self.delta:.2g})-DP (target epsilon {self.target_epsilon:g}), "
                f"DP-SGD {self.steps} steps at q={self.sample_rate:.3f}, noise multiplier "
                f"{self.noise_multiplier:.3f}, clip {self.max_grad_norm:g}; {self.accountant} accountant")


def guarantee_from_dict(values: dict | None) -> PrivacyGuarantee | None:
    return None if values is None else PrivacyGuarantee(**values)

