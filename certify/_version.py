"""The package version (one place; the provenance block of every output reads it)."""

__version__ = "0.1.0"
