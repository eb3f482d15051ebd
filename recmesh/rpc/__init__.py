"""gRPC plumbing shared by every server and client: errors and their details, request
bodies, health, listening ports, TLS."""
