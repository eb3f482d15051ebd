"""Offline evaluation: splits, metrics, bootstrap statistics, the decision rule, baselines.

A challenger model is evaluated against the champion on held-out interactions
with the Microsoft Recommenders definitions of the ranking metrics, compared
user by user with a paired bootstrap, and judged by `offline.decision`. SAR
and popularity baselines live in `offline.baselines`; reproducing the published
SAR figures on MovieLens 100K is the harness's own acceptance test.

Layout: `splits` (train/test splits and their string specs), `metrics`
(per-user accuracy, beyond-accuracy, user segments), `stats` (bootstrap
intervals), `decision` (PASS/FAIL), `baselines` (recommenders), `topk` (the
recommendation lists every part shares), `errors` (the package's typed errors).
"""
