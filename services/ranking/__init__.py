"""Ranking: scores candidates with the serving version's XGBoost model, returns the top k."""
