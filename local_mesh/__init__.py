"""The local mesh: starting, health-checking and supervising every process on loopback."""
