"""The options every serving process parses: TLS is all three files or none; load
retries and the retry window."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from recmesh.mesh.certificates import ensure_mesh_certificates
from recmesh.rpc.tls import TlsFiles
from services.common.load_policy import LoadPolicy
from services.common.options import CommonOptions, add_common_arguments, common_options


def _parse(argv: list[str]) -> CommonOptions:
    parser = argparse.ArgumentParser(prog="service")
    add_common_arguments(parser, 50052)
    return common_options(parser.parse_args(argv), parser)


def test_without_tls_options_the_process_is_plaintext() -> None:
    """No --tls-* option: tls is None (the default mesh, unchanged)."""
    assert _parse([]).tls is None


def test_all_three_tls_options_configure_mutual_tls(tmp_path: Path) -> None:
    """--tls-ca, --tls-cert and --tls-key of readable PEM files become one TlsFiles."""
    files = ensure_mesh_certificates(tmp_path, ("candidates",), (), days=1).files("candidates")
    options = _parse(
        ["--tls-ca", str(files.ca), "--tls-cert", str(files.cert), "--tls-key", str(files.key)]
    )
    assert options.tls == TlsFiles(ca=files.ca, cert=files.cert, key=files.key)


def test_partial_tls_options_exit_with_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    """--tls-cert without the other two exits 2 and says all three are needed."""
    with pytest.raises(SystemExit) as raised:
        _parse(["--tls-cert", "c.pem"])
    assert raised.value.code == 2
    assert "--tls-ca, --tls-cert and --tls-key together" in capsys.readouterr().err


def test_an_unreadable_tls_file_exits_naming_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A missing key file exits 2 at start-up, naming the file."""
    files = ensure_mesh_certificates(tmp_path, ("candidates",), (), days=1).files("candidates")
    with pytest.raises(SystemExit):
        _parse(
            ["--tls-ca", str(files.ca), "--tls-cert", str(files.cert),
             "--tls-key", str(tmp_path / "gone.key")]
        )  # fmt: skip
    assert f"cannot read the TLS private key {tmp_path / 'gone.key'}" in capsys.readouterr().err


def test_load_options_set_the_retry_cap_and_the_window() -> None:
    """Defaults are LoadPolicy's; the two options override the cap and the window."""
    assert _parse([]).loads == LoadPolicy()
    loads = _parse(
        ["--load-retry-max-seconds", "4", "--version-lag-window-seconds", "20"]
    ).loads
    assert (loads.max_retry_s, loads.lag_window_s) == (4.0, 20.0)
    assert loads.first_retry_s == LoadPolicy().first_retry_s


def test_a_retry_cap_below_the_first_delay_is_a_usage_error(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """A cap shorter than the first retry exits 2 naming the options."""
    with pytest.raises(SystemExit) as raised:
        _parse(["--load-retry-max-seconds", "0.1"])
    assert raised.value.code == 2
    assert "--load-retry-max-seconds" in capsys.readouterr().err
