"""Which bill and balance reminders are due on a day, from payment records (pure), and reading those records.

A payment record is one customer's bill for one month: customer_id (the account number 户号, or an
`account_no` column), month, amount_yuan, due_date, paid_on (empty while unpaid) and, for prepaid (费控)
accounts, balance. `due_reminders(rows, today, …)` decides; `read_payments(path, today)` reads the analytics
store with DuckDB, keeping only the months that can still matter.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class Reminder:
    kind: str
    period: str  # what the reminder is about, part of its idempotency key
    account_no: str
    values: dict[str, Any]


def _date(value: Any) -> dt.date | None:
    if value is None or value == "":
        return None
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    return dt.date.fromisoformat(str(value)[:10])


def _month(value: Any) -> str:
    if isinstance(value, dt.date):
        return value.strftime("%Y-%m")
    return str(value)[:7]


def _money(value: Any) -> str:
    return f"{float(value):,.2f}"


def due_reminders(
    rows: Iterable[Mapping[str, Any]],
    *,
    today: dt.date,
    due_days: int,
    disconnect_days: int,
    low_balance: float,
) -> list[Reminder]:
    """The reminders due `today`:
    - bill issued: a bill whose month is the latest one and which is not yet due, unpaid;
    - payment due: unpaid, due within `due_days`;
    - arrears: unpaid after its due date: notice that supply stops in `disconnect_days` (the legal 7 days);
    - reconnection: paid late, yesterday or today;
    - low balance: a prepaid account whose balance fell below `low_balance` (at most once a week).
    """
    found: list[Reminder] = []
    week = today.isocalendar()
    for row in rows:
        account = str(row.get("account_no") or row.get("customer_id") or "").strip()
        if not account:
            continue
        month = _month(row.get("month"))
        amount = row.get("amount_yuan") or 0
        due = _date(row.get("due_date"))
        paid = _date(row.get("paid_on"))
        base = {"month": month, "amount": _money(amount)}
        if due is not None:
            base["due_date"] = due.isoformat()
        if due is not None and paid is None and float(amount) > 0:
            days_left = (due - today).days
            if days_left >= 0:
                found.append(Reminder("bill_issued", month, account, base))
            if 0 <= days_left <= due_days:
                found.append(Reminder("payment_due", month, account, base))
            if days_left < 0:
                stop = today + dt.timedelta(days=disconnect_days)
                values = {**base, "disconnect_date": stop.isoformat()}
                found.append(Reminder("arrears_disconnect", month, account, values))
        if paid is not None and due is not None and paid > due and 0 <= (today - paid).days <= 1:
            found.append(Reminder("reconnected", month, account, base))
        balance = row.get("balance")
        if balance is not None and balance == balance and float(balance) < low_balance:  # balance == balance: not NaN
            found.append(Reminder("low_balance", f"{week[0]}-W{week[1]:02d}", account, {"balance": _money(balance)}))
    return _dedupe(found)


def _dedupe(items: list[Reminder]) -> list[Reminder]:
    seen: dict[tuple[str, str, str], Reminder] = {}
    for r in items:
        seen.setdefault((r.kind, r.period, r.account_no), r)
    return list(seen.values())


def read_payments(path: Path, *, today: dt.date, lookback_days: int = 120) -> list[dict[str, Any]]:
    """Recent payment records from Parquet (or CSV) with DuckDB; only bills due within the look-back."""
    import duckdb

    reader = "read_csv_auto" if path.suffix.lower() == ".csv" else "read_parquet"
    con = duckdb.connect()
    try:
        columns = {r[0] for r in con.execute(f"DESCRIBE SELECT * FROM {reader}(?)", [str(path)]).fetchall()}  # noqa: S608
        missing = {"month", "amount_yuan", "due_date", "paid_on"} - columns
        if not ({"customer_id", "account_no"} & columns):
            missing.add("customer_id")
        if missing:
            raise ValueError(f"{path}: 缺少列 {', '.join(sorted(missing))}")
        since = today - dt.timedelta(days=lookback_days)
        cursor = con.execute(
            f"SELECT * FROM {reader}(?) WHERE CAST(due_date AS DATE) >= ? OR paid_on IS NULL",  # noqa: S608
            [str(path), since],
        )
        names = [d[0] for d in cursor.description]
        rows = [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
    finally:
        con.close()
    return _with_accounts(rows, has_account_no="account_no" in columns)


def _with_accounts(rows: list[dict[str, Any]], *, has_account_no: bool) -> list[dict[str, Any]]:
    """The analytics store keys customers by their database id (`customer_id`, as the demo city and the tags
    engine do); reminders address them by account number. Balances may be named `prepaid_balance_yuan`."""
    if not has_account_no:
        from gridcare.customers.models import Customer

        ids = {int(r["customer_id"]) for r in rows if str(r.get("customer_id") or "").isdigit()}
        accounts: dict[int, str] = {}
        id_list = sorted(ids)
        for i in range(0, len(id_list), 900):
            accounts.update(Customer.objects.filter(pk__in=id_list[i : i + 900]).values_list("pk", "account_no"))
        for r in rows:
            cid = str(r.get("customer_id") or "")
            # An id that is no customer's primary key is taken as the account number itself (imported files).
            r["account_no"] = accounts.get(int(cid), cid) if cid.isdigit() else cid
    for r in rows:
        if r.get("balance") is None and r.get("prepaid_balance_yuan") is not None:
            r["balance"] = r["prepaid_balance_yuan"]
    return rows
