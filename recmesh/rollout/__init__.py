"""Staged rollout of a challenger: the pure logic the front and the control plane share.

`cohorts` (which users a stage or a shadow share selects, by a salted, stable hash),
`srm` (whether a stage's observed split of requests matches its share),
`sequential` (anytime-valid bounds on a rate and on two arms' difference) and
`guardrails` (a stage's live guardrail plans and each look's verdict), `arm_counts`
(what fronts count per arm and the control plane sums) and `report_files` (the names
a shadow report is written under). Standard
library, numpy and scipy only; nothing here talks to etcd or serves.
"""
