"""Reading spans back from the local mesh's JSON-lines span file."""
