"""Serving bundles: the manifest that names a serving version's artifacts."""
