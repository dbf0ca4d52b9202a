"""Checkers for notebook (being written)."""
