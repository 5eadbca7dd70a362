"""Meta-learned weight rules (importing registers them)."""
