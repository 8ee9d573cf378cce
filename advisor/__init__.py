"""export-advisor: cited, conservative export-control answers from a curated corpus."""

__version__ = "0.1.0"
