"""The scalable solve path: candidate territories, Lagrangian bound and local-search repair."""
