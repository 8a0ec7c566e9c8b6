"""The `gridcare` console command: Django's management commands with GridCare's settings, hyphens allowed.

`gridcare token create --user NAME` runs the `token` command, `gridcare gps-listen` runs `gps_listen`.
"""

from __future__ import annotations

import os
import sys


def main(argv: list[str] | None = None) -> None:
    argv = list(sys.argv if argv is None else argv)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "gridcare.settings")
    if len(argv) > 1 and not argv[1].startswith("-"):
        argv[1] = argv[1].replace("-", "_")
    from django.core.exceptions import ImproperlyConfigured

    try:
        from django.core.management import execute_from_command_line

        execute_from_command_line(argv)
    except ImproperlyConfigured as exc:
        # Configuration mistakes are the operator's to fix: one line, no traceback.
        sys.stderr.write(f"gridcare: configuration error: {exc}\n")
        raise SystemExit(2) from None


if __name__ == "__main__":
    main()
