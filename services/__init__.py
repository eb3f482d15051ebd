"""The serving mesh: candidates, features, ranking and the recommend front."""
