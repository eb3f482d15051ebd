"""The shadow quality diff: champion and challenger lists for the same requests, compared."""
