"""optim: the optimizers of the book (being built)."""
