"""Test support shared by the tests and the benchmarks: serving versions to build, the
records of a promotion, the promotion workflow over gRPC. Nothing here runs in production,
and nothing outside tests/ imports from tests/; code they share lives here."""
