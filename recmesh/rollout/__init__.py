"""Staged rollout of a challenger: the pure logic the front and the control plane share.

`cohorts` (which users a stage or a shadow share selects, by a salted, stable hash),
`srm` (whether a stage's observed split of requests matches its share). Standard
library, numpy and scipy only; nothing here talks to etcd or serves.
"""
