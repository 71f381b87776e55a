"""padstride.analysis (see docs)."""
