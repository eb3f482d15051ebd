"""Features: the schema, the hydrators and the pipeline that fills a user x items matrix."""
