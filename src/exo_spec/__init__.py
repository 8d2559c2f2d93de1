"""exo-spec."""
