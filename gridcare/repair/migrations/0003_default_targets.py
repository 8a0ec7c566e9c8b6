"""The seed's segment targets and the published arrival/restoration commitments, as editable data."""

from django.db import migrations

SEGMENTS = [
    ("AB", "值长派发", 2, None, "center_95598"),
    ("BC", "传至报修中心", 4, None, "network"),
    ("CD", "报修中心派车", 2, None, "repair_center"),
    ("DE", "传至班组终端", 2, 4, "network"),
    ("EF", "班组接单", 2, None, "crew_member"),
    ("FG", "班组出发", 3, None, "crew"),
    ("GH", "行驶到达", 28, None, "crew"),
]
AREAS = [("urban", 45, 180), ("rural", 90, 240), ("remote", 120, 240)]


def load(apps, schema_editor):
    SegmentTarget = apps.get_model("repair", "SegmentTarget")
    AreaTarget = apps.get_model("repair", "AreaTarget")
    for code, name, minutes, other, party in SEGMENTS:
        SegmentTarget.objects.get_or_create(
            code=code, defaults={"name": name, "minutes": minutes, "minutes_other_site": other, "party": party}
        )
    for area, arrive, restore in AREAS:
        AreaTarget.objects.get_or_create(
            area_class=area, defaults={"arrive_minutes": arrive, "restore_minutes": restore}
        )


class Migration(migrations.Migration):
    dependencies = [("repair", "0002_areatarget_segmenttarget_vehicle_off_duty_and_more")]
    operations = [migrations.RunPython(load, migrations.RunPython.noop)]
