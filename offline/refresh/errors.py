"""Why a refresh cannot be built; the message says what to do."""

from __future__ import annotations


class RefreshError(Exception):
    """The refresh cannot be built from this dataset, log or champion."""
