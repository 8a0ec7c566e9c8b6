"""Tariff engine: tariffs as versioned data (YAML files in this folder), bills as line items with their arithmetic."""

from __future__ import annotations

from pathlib import Path

from gridcare.dsm.tariffs.schema import Tariff, load_tariff_file
from gridcare.dsm.tariffs.source import SourceError

SHIPPED_DIR = Path(__file__).resolve().parent


def shipped_tariffs() -> dict[str, Tariff]:
    """The tariffs that ship with GridCare, by id (each file's id must be unique)."""
    found: dict[str, Tariff] = {}
    for path in sorted(SHIPPED_DIR.glob("*.yaml")):
        tariff = load_tariff_file(path)
        if tariff.id in found:
            raise SourceError(f"tariff id {tariff.id!r} is also used by another shipped file", source=str(path))
        found[tariff.id] = tariff
    return found
