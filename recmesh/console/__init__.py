"""What long work shows a person on a terminal."""
