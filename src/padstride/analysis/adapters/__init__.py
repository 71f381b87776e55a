"""Adapters: torch modules, Keras models and ONNX models to the padstride graph IR."""
