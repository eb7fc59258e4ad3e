"""Helpers shared by the baseline agents: per-family hooks and the exact grid policies."""
