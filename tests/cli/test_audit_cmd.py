"""`recmesh audit [--verify]`: the log as a table or JSON, and tamper detection."""

from __future__ import annotations

import json

import pytest

from cli.main import main
from tests.control_plane.harness import ControlPlaneHarness


def test_audit_lists_every_state_change(
    control_plane: ControlPlaneHarness, capsys: pytest.CaptureFixture[str]
) -> None:
    """The table shows sequence, actor, action and subject; --json has the same entries."""
    control_plane.register(control_plane.challenger_a)
    assert main(["audit", *control_plane.cli_args("bob")]) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[0].split() == ["SEQ", "AT", "ACTOR", "ACTION", "SUBJECT", "DETAILS"]
    assert "init_pointer" in out
    assert "register_model" in out
    assert main(["audit", "--json", *control_plane.cli_args("bob")]) == 0
    entries = json.loads(capsys.readouterr().out)["entries"]
    assert [e["action"] for e in entries] == ["register_model", "init_pointer", "register_model"]


def test_audit_lists_only_the_actions_asked_for(
    control_plane: ControlPlaneHarness, capsys: pytest.CaptureFixture[str]
) -> None:
    """--action keeps the entries of the named actions, in order; an action nobody took
    lists nothing."""
    control_plane.register(control_plane.challenger_a)
    assert (
        main(["audit", "--json", "--action", "register_model", *control_plane.cli_args("bob")]) == 0
    )
    entries = json.loads(capsys.readouterr().out)["entries"]
    assert [e["action"] for e in entries] == ["register_model", "register_model"]
    assert (
        main(["audit", "--json", "--action", "rollout_rolled_back", *control_plane.cli_args("bob")])
        == 0
    )
    assert json.loads(capsys.readouterr().out)["entries"] == []


def test_verify_passes_on_an_untouched_log(
    control_plane: ControlPlaneHarness, capsys: pytest.CaptureFixture[str]
) -> None:
    """--verify exits 0 and reports the number of entries."""
    assert main(["audit", "--verify", *control_plane.cli_args("olga")]) == 0
    assert "audit log OK: 2 entries" in capsys.readouterr().out


def test_verify_names_an_entry_edited_in_etcd(
    control_plane: ControlPlaneHarness, capsys: pytest.CaptureFixture[str]
) -> None:
    """Rewriting one entry's actor directly in etcd makes --verify exit 1 naming that entry."""
    control_plane.register(control_plane.challenger_a)
    key = control_plane.keys.audit_entry(2)
    stored = control_plane.etcd_get(key)
    assert stored is not None
    edited = stored[0].replace(b'"actor": "recmesh-up"', b'"actor": "mallory"')
    assert edited != stored[0]
    control_plane.etcd_put(key, edited)
    assert main(["audit", "--verify", *control_plane.cli_args("bob")]) == 1
    out = capsys.readouterr().out
    assert "audit log BROKEN at entry 2" in out
    assert "entry 2 was edited" in out
    assert main(["audit", "--verify", "--json", *control_plane.cli_args("bob")]) == 1
    report = json.loads(capsys.readouterr().out)
    assert (report["ok"], report["broken_sequence"]) == (False, 2)


def test_verify_names_a_deleted_entry(
    control_plane: ControlPlaneHarness, capsys: pytest.CaptureFixture[str]
) -> None:
    """Deleting an entry directly in etcd makes --verify exit 1 naming the missing one."""
    control_plane.register(control_plane.challenger_a)
    control_plane.etcd_delete(control_plane.keys.audit_entry(2))
    assert main(["audit", "--verify", *control_plane.cli_args("bob")]) == 1
    assert "entry 2 is missing" in capsys.readouterr().out


def test_verify_names_foreign_and_malformed_keys_under_the_audit_prefix(
    control_plane: ControlPlaneHarness, capsys: pytest.CaptureFixture[str]
) -> None:
    """Keys under the audit prefix that the control plane never writes (a foreign key, an
    entry key that is not twelve digits) and a head that does not parse are named by
    --verify (exit 1), not an UNKNOWN error."""
    prefix = control_plane.keys.audit_entries_prefix
    control_plane.etcd_put(prefix.removesuffix("entries/") + "notes", b"hello")
    control_plane.etcd_put(prefix + "latest", b"{}")
    assert main(["audit", "--verify", *control_plane.cli_args("bob")]) == 1
    out = capsys.readouterr().out
    assert "audit log BROKEN: " in out
    assert f"foreign key {prefix.removesuffix('entries/')}notes under the audit prefix" in out
    assert f"malformed entry key {prefix}latest" in out
    control_plane.etcd_put(control_plane.keys.audit_head, b"not json")
    assert main(["audit", "--verify", "--json", *control_plane.cli_args("bob")]) == 1
    report = json.loads(capsys.readouterr().out)
    assert report["ok"] is False
    assert "the audit head" in report["problem"]
    assert "is malformed" in report["problem"]
