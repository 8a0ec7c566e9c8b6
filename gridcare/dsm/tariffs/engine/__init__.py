"""The tariff engine: a bill as line items with their arithmetic, from a tariff and a period's usage.

Pure functions over Decimal; nothing here touches the database or the clock. Order of a bill:
energy (flat, tiered or time-of-use), tier surcharges, per-kWh adders, the basic charge of a two-part
tariff, then the power-factor adjustment on the lines it applies to. With `rounding.per: line` (the
default, as printed bills do) each line is rounded to the fen and the total is the sum of the lines.

A period that spans a price change is split (tariff `version_split`, default `days`): each version's part
of the period gets the usage pro-rated by its days and is billed with that version, its lines marked with
the part. See docs/dsm.md for the rule.

The package follows the order of a bill: `bill` (line items, the builder), `energy`, `basic`, `power_factor`,
`split` (a period across a price change) and `compute` (`compute_bill`). Import from here.
"""

from gridcare.dsm.tariffs.engine.bill import Bill, BillError, BillPart, Line
from gridcare.dsm.tariffs.engine.compute import compute_bill
from gridcare.dsm.tariffs.engine.energy import BAND_NAMES, calendar_months
from gridcare.dsm.tariffs.engine.split import SPLIT_METHODS, version_parts

__all__ = [
    "BAND_NAMES",
    "SPLIT_METHODS",
    "Bill",
    "BillError",
    "BillPart",
    "Line",
    "calendar_months",
    "compute_bill",
    "version_parts",
]
