"""Fixtures shared by every test module, as plugins: a real etcd (tests/etcd_fixtures.py)
and MovieLens 100K (tests/fixtures_data.py)."""

pytest_plugins = ["tests.etcd_fixtures", "tests.fixtures_data"]
