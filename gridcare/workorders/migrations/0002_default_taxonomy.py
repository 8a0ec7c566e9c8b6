from django.db import migrations


def load(apps, schema_editor):
    from gridcare.workorders import taxonomy

    taxonomy.load(apps)


class Migration(migrations.Migration):
    dependencies = [("workorders", "0001_initial")]
    operations = [migrations.RunPython(load, migrations.RunPython.noop)]
