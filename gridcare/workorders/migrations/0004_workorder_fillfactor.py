"""Leave room on each work-order page (PostgreSQL) so that flag changes — overdue, supervised, call count —
are HOT updates that touch no index. The worker's deadline pass flags thousands of orders at a time."""

from django.db import migrations


def leave_room(apps, schema_editor):  # type: ignore[no-untyped-def]
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("ALTER TABLE workorders_workorder SET (fillfactor = 85)")


def fill_up(apps, schema_editor):  # type: ignore[no-untyped-def]
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("ALTER TABLE workorders_workorder RESET (fillfactor)")


class Migration(migrations.Migration):
    dependencies = [("workorders", "0003_intake_fewer_indexes")]

    operations = [migrations.RunPython(leave_room, fill_up)]
