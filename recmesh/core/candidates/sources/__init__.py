"""Candidate sources, one module each, all implementing `base.CandidateSource`."""
