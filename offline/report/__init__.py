"""The self-contained HTML report of an experiment, with its plots as embedded PNGs."""
