"""Serving-side plumbing every service shares: the pointer watch, loaded versions,
the server runner and downstream channels. Never imports experiment code."""
