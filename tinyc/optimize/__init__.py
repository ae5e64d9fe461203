"""Compression with TensorFlow: load a model, prune / cluster / binarize / quantize it, measure every step.

Everything here imports TensorFlow, tf-keras and tensorflow-model-optimization lazily, inside functions
(see ``stack``): importing ``tinyc.optimize`` itself is cheap. ``packing`` is pure numpy and holds the
byte format the C runtime decodes (docs/compressed-weights.md).

Pipeline order (pipeline.py): load -> structured pruning -> magnitude pruning -> clustering -> binarization
-> QAT (prune/cluster-preserving when earlier steps need it) -> int8 conversion -> measure with TFLite Micro.
"""
