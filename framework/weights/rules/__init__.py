"""Built-in weight-update rules (importing registers them)."""
