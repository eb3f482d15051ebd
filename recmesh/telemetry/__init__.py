"""Tracing, structured logs and metrics set-up shared by every process."""
