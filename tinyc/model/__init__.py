"""The model IR: a parsed .tflite file (graph.py), the ops tinyc supports (ops.py), and the TFLM reference (reference.py)."""
