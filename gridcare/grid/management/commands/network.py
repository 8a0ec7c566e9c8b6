"""`gridcare network import --devices FILE --areas FILE`: the network below the feeders from CSV/Excel, all or
nothing; every problem as `FILE:LINE: message` and exit code 1."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from gridcare.core.errors import ServiceError
from gridcare.core.tables import Table, read_table
from gridcare.grid.imports import network_import


def _read(path: Path | None) -> Table | None:
    if path is None:
        return None
    if not path.is_file():
        raise CommandError(f"{path}: no such file")
    try:
        with path.open("rb") as stream:
            return read_table(stream, path.name)
    except ServiceError as exc:
        raise CommandError(f"{path}: {exc.message}") from None


class Command(BaseCommand):
    help = "Import the network below the feeders: devices and the 台区 → device assignment (see docs/grid-network.md)."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        load = sub.add_parser(
            "import",
            help="check both files together against the stored network, then write them (nothing if any row is bad); "
            "re-importing the same files changes nothing",
        )
        load.add_argument(
            "--devices",
            type=Path,
            help="devices .csv/.xlsx: code, name, kind, feeder, upstream, tie_to, normally_open, lat, lon",
        )
        load.add_argument("--areas", type=Path, help="台区 → device .csv/.xlsx: area, device")

    def handle(self, *args: Any, **options: Any) -> None:
        devices_path, areas_path = options["devices"], options["areas"]
        if devices_path is None and areas_path is None:
            raise CommandError("give --devices FILE, --areas FILE or both")
        devices, areas = _read(devices_path), _read(areas_path)
        report = network_import(
            devices=devices,
            areas=areas,
            actor="cli",
            devices_name=str(devices_path or "devices"),
            areas_name=str(areas_path or "areas"),
        )
        for problem in report.problems:
            self.stderr.write(str(problem))
        if not report.ok:
            self.stdout.write(f"nothing imported: {len(report.problems)} problem(s)")
            raise SystemExit(1)
        self.stdout.write(
            f"devices: {report.devices_created} created, {report.devices_updated} updated, "
            f"{report.devices_unchanged} unchanged; 台区: {report.areas_changed} re-hung, "
            f"{report.areas_unchanged} unchanged"
        )
