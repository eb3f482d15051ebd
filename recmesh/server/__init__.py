"""The server kit every gRPC server is built with: options, the instrumenting
interceptor, the one handler re-wrap, building a server, running it until a signal.

It sits above recmesh.rpc (errors, health, listening ports) and recmesh.telemetry
(metrics): neither of those imports it.
"""
