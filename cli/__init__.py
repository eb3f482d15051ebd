"""The `recmesh` command line: one module per command group."""
