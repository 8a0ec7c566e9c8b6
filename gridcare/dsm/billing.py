"""Bills on request: find a tariff by id or read one given inline, read the usage, run the engine.

Errors from the tariff or usage documents become ServiceError with the line and field in the message,
so the API answers 400 and the CLI prints one line.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.conf import settings

from gridcare.core.errors import NotFound, ServiceError
from gridcare.dsm.tariffs import shipped_tariffs
from gridcare.dsm.tariffs.engine import Bill, compute_bill
from gridcare.dsm.tariffs.schema import Tariff, load_tariff, load_tariff_file
from gridcare.dsm.tariffs.source import SourceError
from gridcare.dsm.tariffs.usage import Usage, load_usage, load_usage_file


def tariff_dir() -> Path:
    """Site tariffs: YAML files an operator adds without touching the code (VAR_DIR/tariffs)."""
    return Path(getattr(settings, "GRIDCARE_TARIFF_DIR", settings.VAR_DIR / "tariffs"))


def tariffs_available() -> dict[str, Tariff]:
    """Shipped tariffs and the site's own (a site file with the same id replaces the shipped one)."""
    try:
        found = shipped_tariffs()
        directory = tariff_dir()
        if directory.is_dir():
            for path in sorted(directory.glob("*.y*ml")):
                tariff = load_tariff_file(path)
                found[tariff.id] = tariff
    except SourceError as exc:
        raise ServiceError(exc.describe(), field="tariff") from None
    return found


def tariff_get(tariff_id: str) -> Tariff:
    tariffs = tariffs_available()
    if tariff_id not in tariffs:
        raise NotFound(
            f"电价 {tariff_id!r} 不存在 / no tariff with that id (known: {', '.join(sorted(tariffs))})",
            field="tariff_id",
        )
    return tariffs[tariff_id]


def tariff_from_document(data: str | dict[str, Any], *, source: str = "tariff") -> Tariff:
    try:
        return load_tariff(data, source=source)
    except SourceError as exc:
        raise ServiceError(f"电价文件有误 / invalid tariff: {exc.describe()}", field="tariff") from None


def usage_from_document(data: str | dict[str, Any], *, source: str = "usage") -> Usage:
    try:
        return load_usage(data, source=source)
    except SourceError as exc:
        raise ServiceError(f"用电量数据有误 / invalid usage: {exc.describe()}", field="usage") from None


def tariff_from_path_or_id(value: str) -> Tariff:
    path = Path(value)
    if path.suffix.lower() in (".yaml", ".yml", ".json") or path.is_file():
        try:
            return load_tariff_file(path)
        except SourceError as exc:
            raise ServiceError(f"电价文件有误 / invalid tariff: {exc.describe()}", field="tariff") from None
    return tariff_get(value)


def usage_from_path(value: str) -> Usage:
    try:
        return load_usage_file(Path(value))
    except SourceError as exc:
        raise ServiceError(f"用电量数据有误 / invalid usage: {exc.describe()}", field="usage") from None


def bill_compute(*, tariff: Tariff, usage: Usage, version_split: str | None = None) -> Bill:
    """`version_split` ("days" or "none") overrides the tariff's rule for periods spanning a price change."""
    try:
        return compute_bill(tariff, usage, version_split=version_split)
    except SourceError as exc:
        raise ServiceError(f"无法计费 / cannot bill: {exc.describe()}", field="usage") from None
