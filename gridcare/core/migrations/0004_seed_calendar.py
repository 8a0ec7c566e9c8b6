"""Seed the holiday calendar from the chinese-calendar package; later years are entered in the admin."""

from django.db import migrations

NAMES = {
    "New Year's Day": "元旦",
    "Spring Festival": "春节",
    "Tomb-sweeping Day": "清明节",
    "Labour Day": "劳动节",
    "Dragon Boat Festival": "端午节",
    "National Day": "国庆节",
    "Mid-autumn Festival": "中秋节",
    "Anti-Fascist 70th Day": "抗战胜利70周年纪念日",
}


def seed(apps, schema_editor):
    from gridcare.core.calendar import seed_rows_from_chinese_calendar

    CalendarYear = apps.get_model("core", "CalendarYear")
    CalendarDay = apps.get_model("core", "CalendarDay")
    years, days = seed_rows_from_chinese_calendar()
    CalendarYear.objects.bulk_create(
        [CalendarYear(year=y, source="chinese-calendar") for y in years], ignore_conflicts=True
    )
    CalendarDay.objects.bulk_create(
        [CalendarDay(date=d, kind=k, name=NAMES.get(n, n)) for d, k, n in days], ignore_conflicts=True
    )


class Migration(migrations.Migration):
    dependencies = [("core", "0003_calendarday_calendaryear")]
    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
