"""The experiment control plane: records, reviews, the guarded serving pointer, the audit log.

It is the only writer of the serving pointer. Run it with `python -m control_plane`;
`control_plane.server.create_server` wires one instance.
"""
