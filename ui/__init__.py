"""Reviewer Workstation's window: PySide6 widgets and item models over the core services."""
