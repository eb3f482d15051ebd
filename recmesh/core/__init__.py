"""The recommendation core: candidate generation, features and ranking, shared by the serving
services, the offline experiments and the local mesh. It imports only the shared library."""
