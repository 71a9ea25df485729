"""Privacy and governance: DP-SGD fits, model cards, fairness, privacy audits and watermarks.

dp.py / fit.py / transform.py / moments.py / accounting.py / grad_sample.py: differentially private fits
(Opacus DP-SGD, a DP table transform, a DP Gaussian prior, one RDP budget); card.py: the model card of a run.
"""
