"""The serving snapshot: the in-memory arrays that candidates, features and the front read.

The offline side builds it (`build.build_snapshot`) and stores its bytes
(`codec.snapshot_to_bytes`); the serving side loads it (`codec.snapshot_from_bytes`).
"""
