"""Compression with TensorFlow: load a model, prune / cluster / binarize / quantize it, measure every step.

Everything here imports TensorFlow, tf-keras and tensorflow-model-optimization lazily, inside functions
(see ``stack``): importing ``tinyc.optimize`` itself is cheap. The packed flash format it reports sizes in is
``tinyc.model.packing`` (a model-level format: analysis and code generation use it too).

Pipeline order (pipeline.py): load -> structured pruning -> magnitude pruning -> clustering -> binarization
-> QAT (prune/cluster-preserving when earlier steps need it) -> int8 conversion -> measure with TFLite Micro.
"""
