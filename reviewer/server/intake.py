"""Intake over HTTP: partner tools post reports (``POST /v1/reports``); see the README."""

from __future__ import annotations

from typing import Any

from starlette.routing import Route


class Intake:
    def __init__(self, service: Any) -> None:
        self.service = service


def intake_routes() -> list[Route]:
    return []
