"""Fixtures shared by every test module, as plugins: a real etcd (tests/etcd_fixtures.py),
a real S3-compatible server (tests/s3_fixtures.py),
MovieLens 100K (tests/fixtures_data.py), serving versions built from it
(tests/fixtures_serving.py) and a running control plane (tests/fixtures_control_plane.py)."""

pytest_plugins = [
    "tests.etcd_fixtures",
    "tests.s3_fixtures",
    "tests.fixtures_data",
    "tests.fixtures_serving",
    "tests.fixtures_control_plane",
]
