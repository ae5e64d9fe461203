"""Package data (templates, boards, firmware) when tinyc is installed from a wheel."""
