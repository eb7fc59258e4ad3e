"""Exact bounds, the scoring harness and reports."""
