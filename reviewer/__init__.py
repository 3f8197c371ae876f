"""Reviewer Workstation's core: data model, storage, sync and the review services. No Qt."""

__version__ = "0.1.0"
