"""Placeholder: filled in by the variants work."""
