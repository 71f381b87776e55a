"""padstride.studies (see docs)."""
