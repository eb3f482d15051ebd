"""Candidate generation: the sources, the quota merger and the pipeline that runs them."""
