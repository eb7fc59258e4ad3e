"""Toy families registered by tests (see docs/adding-a-family.md)."""
