"""Datasets: fetching MovieLens 100K, loading interaction files, fingerprints."""
