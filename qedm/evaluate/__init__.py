"""Evaluation of synthetic tables: one entry point, `evaluate`, and its result type.

`evaluate(real_holdout, synthetic, train=..., target=...).summary()` keys, and which way is good:
  fidelity_overall, column_shapes, column_pair_trends(_all)   SDMetrics QualityReport, 1 = same
  c2st_auc (+ _std, per detector)                             0.5 = indistinguishable, 1 = detected
  tstr_<metric>_<model>, trtr_..., utility_gap_...            gap > 0: synthetic lost utility
  precision, recall, coverage (density ~1)                    1 = good (k-NN, k=5)
  dcr_*, dcr_share_closer_than_holdout_*                      shares ~0.5 / ~0.05 = like fresh data
  exact_copy_share, mia_auc, privacy_flagged                  0, 0.5, 0 = no leak seen
  mmd_rbf, mmd_quantum (+ _pvalue)                            ~0 and p > 0.05 = no difference seen
Scores that cannot be computed are None (and explained in `.notes`).
"""

from qedm.evaluate.core import METRICS, EvaluationResult, evaluate

__all__ = ["METRICS", "EvaluationResult", "evaluate"]
