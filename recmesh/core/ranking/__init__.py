"""Ranking: the XGBoost model of a serving version, checked at load, and what the
ranking service keeps of a version."""
