"""The etcd key schema of recmesh: every key either side reads or writes.

All keys live under one prefix so that a cluster can host several
installations. Records are immutable once written (put only when the key
does not exist yet); the serving pointer and the audit head are the only keys
that are overwritten, and only inside guarded transactions.

    {prefix}/models/{version_id}                  ModelVersion (proto JSON)
    {prefix}/experiments/{experiment_id}          Experiment (proto JSON, state not stored)
    {prefix}/evaluations/{experiment_id}          Evaluation (proto JSON), at most one
    {prefix}/reviews/{experiment_id}/{review_id}  Review (proto JSON)
    {prefix}/promotions/{experiment_id}           the PromoteResponse of a promotion
    {prefix}/serving/pointer                      ServingPointer (proto JSON, revision not stored)
    {prefix}/serving/history/{revision:012d}      ServingPointer set at that pointer revision,
                                                  written when a promotion or rollback replaced it
    {prefix}/serving/records/{sequence:012d}      every signed ServingPointer record, written with
                                                  the pointer (so the last genuine one survives a
                                                  pointer value written behind the control plane)
    {prefix}/refresh/policy                       RefreshPolicy (proto JSON), overwritten by
                                                  SetRefreshPolicy (audited)
    {prefix}/refreshes/{version_id}               Refresh (proto JSON) of a served refresh
    {prefix}/audit/entries/{seq:012d}             AuditEntry (proto JSON)
    {prefix}/audit/head                           {"sequence": n, "hash": "..."} of the last entry
    {prefix}/rollouts/{experiment_id}             RolloutRecord of a staged promotion (overwritten
                                                  by the control plane only, in guarded txns)
    {prefix}/rollout_looks/{experiment_id}/{n:08d}  RolloutLook, one per look, never overwritten
    {prefix}/shadow_reports/{experiment_id}       ShadowReportSummary attached as evidence
    {prefix}/rollout_arms/{rollout_id}/{stage:04d}/{front}  a front's cumulative counts per arm
                                                  (recmesh.rollout.arm_counts); the one prefix
                                                  serving processes may write
"""

from __future__ import annotations

from dataclasses import dataclass

DEFAULT_PREFIX = "/recmesh/v1"


def prefix_range_end(prefix: str) -> str:
    """The etcd range end that selects every key starting with prefix."""
    raw = prefix.encode()
    return (raw[:-1] + bytes([raw[-1] + 1])).decode()


@dataclass(frozen=True)
class KeySchema:
    """Builds the keys of one installation, rooted at `prefix`."""

    prefix: str = DEFAULT_PREFIX

    def model(self, version_id: str) -> str:
        return f"{self.prefix}/models/{version_id}"

    @property
    def models_prefix(self) -> str:
        return f"{self.prefix}/models/"

    def experiment(self, experiment_id: str) -> str:
        return f"{self.prefix}/experiments/{experiment_id}"

    @property
    def experiments_prefix(self) -> str:
        return f"{self.prefix}/experiments/"

    def evaluation(self, experiment_id: str) -> str:
        return f"{self.prefix}/evaluations/{experiment_id}"

    @property
    def evaluations_prefix(self) -> str:
        return f"{self.prefix}/evaluations/"

    def review(self, experiment_id: str, review_id: str) -> str:
        return f"{self.prefix}/reviews/{experiment_id}/{review_id}"

    def reviews_prefix(self, experiment_id: str) -> str:
        return f"{self.prefix}/reviews/{experiment_id}/"

    @property
    def all_reviews_prefix(self) -> str:
        return f"{self.prefix}/reviews/"

    def promotion(self, experiment_id: str) -> str:
        return f"{self.prefix}/promotions/{experiment_id}"

    @property
    def promotions_prefix(self) -> str:
        return f"{self.prefix}/promotions/"

    @property
    def pointer(self) -> str:
        return f"{self.prefix}/serving/pointer"

    def pointer_history(self, revision: int) -> str:
        return f"{self.prefix}/serving/history/{revision:012d}"

    @property
    def pointer_history_prefix(self) -> str:
        return f"{self.prefix}/serving/history/"

    def pointer_record(self, sequence: int) -> str:
        return f"{self.prefix}/serving/records/{sequence:012d}"

    @property
    def pointer_records_prefix(self) -> str:
        return f"{self.prefix}/serving/records/"

    @property
    def refresh_policy(self) -> str:
        return f"{self.prefix}/refresh/policy"

    def refresh(self, version_id: str) -> str:
        return f"{self.prefix}/refreshes/{version_id}"

    @property
    def refreshes_prefix(self) -> str:
        return f"{self.prefix}/refreshes/"

    @property
    def audit_prefix(self) -> str:
        """Everything of the audit log: its entries and its head."""
        return f"{self.prefix}/audit/"

    def audit_entry(self, sequence: int) -> str:
        return f"{self.prefix}/audit/entries/{sequence:012d}"

    @property
    def audit_entries_prefix(self) -> str:
        return f"{self.prefix}/audit/entries/"

    @property
    def audit_head(self) -> str:
        return f"{self.prefix}/audit/head"

    def rollout(self, experiment_id: str) -> str:
        return f"{self.prefix}/rollouts/{experiment_id}"

    @property
    def rollouts_prefix(self) -> str:
        return f"{self.prefix}/rollouts/"

    def rollout_look(self, experiment_id: str, number: int) -> str:
        return f"{self.prefix}/rollout_looks/{experiment_id}/{number:08d}"

    def rollout_looks_prefix(self, experiment_id: str) -> str:
        return f"{self.prefix}/rollout_looks/{experiment_id}/"

    def shadow_report(self, experiment_id: str) -> str:
        return f"{self.prefix}/shadow_reports/{experiment_id}"

    @property
    def rollout_arms_root(self) -> str:
        """Everything fronts write: the serving role's one writable prefix."""
        return f"{self.prefix}/rollout_arms/"

    def rollout_arms_prefix(self, rollout_id: str, stage: int) -> str:
        return f"{self.prefix}/rollout_arms/{rollout_id}/{stage:04d}/"

    def rollout_arm_counts(self, rollout_id: str, stage: int, front: str) -> str:
        return f"{self.rollout_arms_prefix(rollout_id, stage)}{front}"
