"""Offline experiments: a challenger trained, registered and measured against the champion.

`spec`, `spec_fields` and `spec_loading` (the spec file and its validation),
`data` (the dataset), `pipeline` (the offline steps: split, train, both arms),
`arms` (an arm's top-k lists on the held-out users), `coverage`, `latency` and
`measure` (metrics, intervals, segments, verdict), `bundle` (the challenger's
serving bundle, the champion's read back), `controlplane` and `record` (the RPCs
and their messages), `report_input` (what the report shows), `runner` (the whole
run, step by step), `footprint` (the run's CPU priority and threads, so that it
leaves serving alone) and `cli` (`recmesh experiment run`).
"""
