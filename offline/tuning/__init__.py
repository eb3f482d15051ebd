"""Tuning inside TRAIN: a search over an experiment spec's fields that never sees the test
split.

`space` (the spec's `tuning:` block: fields, ranges, the metric), `holdout` (the rows
tuning is handed: TRAIN split again like the test split, never a test row), `objective`
(one trial: the experiment's own training and metric code on that hold-out), `study`
(Optuna's seeded TPE with pruning, the trial log), `tuned_spec` (the spec file with the
best values) and `report` (the trial log as an HTML page). `recmesh experiment tune`
runs them (cli/experiment_tune.py).
"""
