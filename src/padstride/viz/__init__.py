"""padstride.viz (see docs)."""
