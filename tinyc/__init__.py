"""tinyc: compress a trained network, check it against a microcontroller, generate firmware, measure it."""

__version__ = "0.1.0"
