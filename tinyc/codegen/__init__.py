"""C code generation: Graph + MemoryPlan -> kernel calls with precomputed constants -> C sources."""

from tinyc.codegen.generate import GeneratedModel, generate  # noqa: F401
