"""Reference agents following the agent protocol (benchmark spec section 7)."""
