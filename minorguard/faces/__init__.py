"""Faces: identifiability, the minor estimate, grouping and the one face numbering."""
