"""`recmesh data refresh`: the serving model with a snapshot of newer data."""
