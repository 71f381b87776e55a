"""padstride.torch (see docs)."""
