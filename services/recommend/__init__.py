"""The Recommend front: validates, resolves the serving version, fans out, fails open."""
