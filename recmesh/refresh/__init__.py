"""What the refresher and the control plane agree on about a data refresh."""
