"""Events core announces to the apps above it, which connect receivers in their AppConfig.ready().

Core never imports those apps: the holiday calendar does not know that work orders count deadlines on it.
"""

from __future__ import annotations

from django.dispatch import Signal

# Sent after whole years of the holiday calendar were entered or an administrator asked to apply the calendar
# (not after each single day edited in the admin: a year is entered day by day, then applied once).
# Keyword arguments: `actor` (a user or a name such as "cli"). A receiver returns the BackgroundTask it queued
# (or None), so the sender can point to its progress.
calendar_changed = Signal()
