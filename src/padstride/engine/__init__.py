"""padstride.engine (see docs)."""
