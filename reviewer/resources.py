"""Where the shipped resources (taxonomy, templates, icons, style sheet) live."""

from pathlib import Path

RESOURCES = Path(__file__).resolve().parent.parent / "resources"
"""The repository's (or the frozen bundle's) ``resources/`` folder."""
