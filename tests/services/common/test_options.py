"""The options every serving process parses: TLS is all three files or none; load
retries and the retry window; the pointer's public keys and the state directory; the
downstream replicas options."""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import pytest

from local_mesh.certificates import ensure_mesh_certificates
from recmesh.etcd.credentials import EtcdCredentials
from recmesh.rpc.tls import TlsFiles
from services.common.load_policy import LoadPolicy
from services.common.options import (
    CommonOptions,
    add_common_arguments,
    common_options,
    replica_addresses,
)
from tests.pointer_signing import PointerKey, serving_trust_arguments

#: --pointer-public-key and --state-dir, which every serving process needs.
_TRUST = serving_trust_arguments(Path(tempfile.mkdtemp(prefix="options-test-")))
_PASSWORD_FILE = Path(tempfile.mkdtemp(prefix="options-test-")) / "recmesh-serving.password"
_PASSWORD_FILE.write_text("s3cret\n")
#: --etcd-user and --etcd-password-file, which a plaintext serving process needs.
_ETCD_USER = ["--etcd-user", "recmesh-serving", "--etcd-password-file", str(_PASSWORD_FILE)]


def _parse(
    argv: list[str], trust: list[str] = _TRUST, etcd_user: list[str] = _ETCD_USER
) -> CommonOptions:
    parser = argparse.ArgumentParser(prog="service")
    add_common_arguments(parser, 50052)
    return common_options(parser.parse_args([*argv, *trust, *etcd_user]), parser)


def test_without_tls_options_the_process_is_plaintext() -> None:
    """No --tls-* option: tls is None (the default mesh, unchanged)."""
    assert _parse([]).tls is None


def test_the_etcd_user_and_its_password_file_are_read() -> None:
    """--etcd-user and --etcd-password-file give the credentials the process logs in with
    (the password is the file's first line, and no repr shows it)."""
    credentials = _parse([]).etcd_credentials
    assert credentials == EtcdCredentials("recmesh-serving", "s3cret")
    assert "s3cret" not in repr(credentials)


@pytest.mark.parametrize(
    "etcd_user",
    [
        [],
        ["--etcd-user", "recmesh-serving"],
        ["--etcd-password-file", str(_PASSWORD_FILE)],
        ["--etcd-user", "recmesh-serving", "--etcd-password-file", "/no/such/file"],
    ],
    ids=["neither", "user-only", "file-only", "missing-file"],
)
def test_plaintext_without_a_usable_etcd_user_exits_2(
    etcd_user: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    """etcd requires auth: in plaintext, no etcd user, half of the pair or a password
    file that cannot be read is a usage error, never a process etcd refuses later."""
    with pytest.raises(SystemExit) as exit_info:
        _parse([], etcd_user=etcd_user)
    assert exit_info.value.code == 2
    assert "etcd" in capsys.readouterr().err


def test_with_tls_and_no_etcd_user_the_certificate_is_the_user(tmp_path: Path) -> None:
    """With --tls-* and no etcd user, no credentials: etcd takes the CN as the user."""
    files = ensure_mesh_certificates(tmp_path, ("ranking",), (), days=1).files("ranking")
    tls = ["--tls-ca", str(files.ca), "--tls-cert", str(files.cert), "--tls-key", str(files.key)]
    assert _parse(tls, etcd_user=[]).etcd_credentials is None


def test_all_three_tls_options_configure_mutual_tls(tmp_path: Path) -> None:
    """--tls-ca, --tls-cert and --tls-key of readable PEM files become one TlsFiles."""
    files = ensure_mesh_certificates(tmp_path, ("candidates",), (), days=1).files("candidates")
    options = _parse(
        ["--tls-ca", str(files.ca), "--tls-cert", str(files.cert), "--tls-key", str(files.key)]
    )
    assert options.tls == TlsFiles(ca=files.ca, cert=files.cert, key=files.key)


def _tls_args(prefix: str, files: TlsFiles) -> list[str]:
    return [
        *(f"--{prefix}-ca", str(files.ca)),
        *(f"--{prefix}-cert", str(files.cert)),
        *(f"--{prefix}-key", str(files.key)),
    ]


def test_etcd_gets_its_own_certificates_when_given_else_the_mesh_ones(tmp_path: Path) -> None:
    """--etcd-tls-* (a certificate of etcd's own CA) is what the process presents to
    etcd, the mesh's --tls-* still serve gRPC; without them etcd gets the mesh's. With
    etcd certificates and no etcd user, etcd takes their CN as the user."""
    mesh = ensure_mesh_certificates(tmp_path / "mesh", ("candidates",), (), days=1)
    etcd = ensure_mesh_certificates(tmp_path / "etcd", ("candidates",), (), days=1)
    mesh_files, etcd_files = mesh.files("candidates"), etcd.files("candidates")
    both = _parse([*_tls_args("tls", mesh_files), *_tls_args("etcd-tls", etcd_files)])
    assert (both.tls, both.etcd_tls) == (mesh_files, etcd_files)
    assert _parse(_tls_args("tls", mesh_files)).etcd_tls == mesh_files
    only_etcd = _parse(_tls_args("etcd-tls", etcd_files), etcd_user=[])
    assert (only_etcd.tls, only_etcd.etcd_tls, only_etcd.etcd_credentials) == (
        None,
        etcd_files,
        None,
    )


def test_partial_etcd_tls_options_exit_with_a_usage_error(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """--etcd-tls-cert alone exits 2, naming the etcd options."""
    with pytest.raises(SystemExit) as raised:
        _parse(["--etcd-tls-cert", "c.pem"])
    assert raised.value.code == 2
    assert "--etcd-tls-*" in capsys.readouterr().err


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
    loads = _parse(["--load-retry-max-seconds", "4", "--version-lag-window-seconds", "20"]).loads
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


def test_pointer_keys_and_state_dir_are_required(capsys: pytest.CaptureFixture[str]) -> None:
    """Without --pointer-public-key and --state-dir the process does not start (exit 2):
    a serving process never follows a pointer it cannot verify."""
    with pytest.raises(SystemExit) as raised:
        _parse([], trust=[])
    assert raised.value.code == 2
    assert "--pointer-public-key" in capsys.readouterr().err


def test_several_public_keys_are_all_trusted(tmp_path: Path) -> None:
    """--pointer-public-key repeated (a key rotation): the ring holds every key by id."""
    old, new = PointerKey.generate(), PointerKey.generate()
    options = _parse(
        [],
        trust=[
            "--pointer-public-key", str(old.write_public_key(tmp_path / "old.pem")),
            "--pointer-public-key", str(new.write_public_key(tmp_path / "new.pem")),
            "--state-dir", str(tmp_path / "state"),
        ],
    )  # fmt: skip
    assert set(options.pointer_keys.ids) == {*old.ring.ids, *new.ring.ids}
    assert options.state_dir == tmp_path / "state"


def test_a_public_key_file_that_is_no_key_exits_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A --pointer-public-key file that holds no Ed25519 public key is a usage error
    naming the file."""
    bad = tmp_path / "bad.pem"
    bad.write_text("not a key")
    with pytest.raises(SystemExit) as raised:
        _parse([], trust=["--pointer-public-key", str(bad), "--state-dir", str(tmp_path)])
    assert raised.value.code == 2
    assert str(bad) in capsys.readouterr().err


def test_min_pointer_sequence_is_read_and_defaults_to_no_floor(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """`--min-pointer-sequence N` sets the floor of a stateless process (0 without it);
    a negative one is a usage error."""
    assert _parse([]).min_pointer_sequence == 0
    assert _parse(["--min-pointer-sequence", "12"]).min_pointer_sequence == 12
    with pytest.raises(SystemExit) as exited:
        _parse(["--min-pointer-sequence", "-1"])
    assert exited.value.code == 2
    assert "--min-pointer-sequence" in capsys.readouterr().err


def test_replica_addresses_keep_plain_and_dns_addresses() -> None:
    """HOST:PORT and dns:///NAME:PORT are both kept as given, in order."""
    parser = argparse.ArgumentParser(prog="service")
    assert replica_addresses("a:1,dns:///b:2,", "--ranking", parser) == ("a:1", "dns:///b:2")


@pytest.mark.parametrize("value", ["dns://8.8.8.8/b:2", "dns:///b", ""])
def test_a_malformed_replica_address_exits_2(
    value: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """A dns: address other than dns:///NAME:PORT, or none at all, is a usage error
    naming the option."""
    parser = argparse.ArgumentParser(prog="service")
    with pytest.raises(SystemExit) as exited:
        replica_addresses(value, "--ranking", parser)
    assert exited.value.code == 2
    assert "--ranking: " in capsys.readouterr().err
