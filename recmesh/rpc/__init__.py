"""gRPC plumbing shared by every server: errors, interceptors, health, channels."""
