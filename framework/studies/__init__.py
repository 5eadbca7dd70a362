"""Scripts that produce the README's result tables: python -m framework.studies.<name>."""
