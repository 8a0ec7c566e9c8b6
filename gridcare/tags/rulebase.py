"""What tag rules and the load-shape mining model share: the unknown label, the hourly shape columns, the rule
error and SQL string quoting. The lowest module of the tags rules; it imports nothing of GridCare."""

from __future__ import annotations

UNKNOWN = "未知"

# The 24 hourly shape metrics (a customer's average load in each hour over their overall average).
HOURS = tuple(f"h{h:02d}" for h in range(24))


class RuleError(ValueError):
    """A rule that cannot compile or bind; `line`/`column` point into the SQL when DuckDB says where."""

    def __init__(self, message: str, *, line: int | None = None, column: int | None = None):
        super().__init__(message)
        self.message = message
        self.line = line
        self.column = column

    def __str__(self) -> str:
        where = f" (第 {self.line} 行第 {self.column} 列)" if self.line else ""
        return f"{self.message}{where}"


def sql_str(value: str) -> str:
    return "'" + str(value).replace("'", "''") + "'"
