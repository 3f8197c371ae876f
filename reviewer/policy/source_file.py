"""Mistakes in the files a team edits by hand (taxonomy, templates), told as file:line."""

from __future__ import annotations


class SourceFileError(ValueError):
    """A hand-edited file is missing or malformed; `line` is 1-based, 0 when there is none."""

    def __init__(self, source: str, line: int, problem: str) -> None:
        super().__init__(source, line, problem)
        self.source = source
        self.line = line
        self.problem = problem

    def __str__(self) -> str:
        return f"{self.source}:{self.line}: {self.problem}"
