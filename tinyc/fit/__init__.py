"""tinyc fit: search the compression space for the most accurate model that fits a board (issue 9)."""
