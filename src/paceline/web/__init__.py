"""The web pages: one face of Paceline, beside the CLI and the JSON API.

A regular package (not a namespace one) so that the import-linter contract sees its imports.
"""
