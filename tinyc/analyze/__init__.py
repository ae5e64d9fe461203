"""Analysis of a parsed model: tensor memory plans (memory.py) and the flash/SRAM budget (budget.py)."""
