"""Feature hydrators, one module per kind, all implementing `base.FeatureHydrator`."""
