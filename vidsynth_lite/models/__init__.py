"""One module (or small sub-package) per paper; each reads top to bottom like the paper's method section."""
