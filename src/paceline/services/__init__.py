"""Writes below the faces: one module per kind of record, owning its rules."""
