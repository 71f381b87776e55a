"""Shared set-up for the padstride.torch tests: Keras on the torch backend, float64."""

import os

os.environ.setdefault("KERAS_BACKEND", "torch")
