"""Read YAML (or already-parsed JSON) into a tree that remembers where every value came from.

Tariff and usage files are validated strictly: every refusal names the line and the field. PyYAML's
composer gives each node a start mark; we keep scalars as their raw text so money is parsed straight
into Decimal (0.4883 never passes through a float).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

import yaml


class SourceError(ValueError):
    """A value in a tariff or usage document is wrong; says where (line, field path) and why."""

    def __init__(self, reason: str, *, line: int | None = None, path: str = "", source: str = ""):
        self.reason = reason
        self.line = line
        self.path = path
        self.source = source
        super().__init__(self.describe())

    def describe(self) -> str:
        where = []
        if self.source:
            where.append(self.source)
        if self.line is not None:
            where.append(f"line {self.line}")
        if self.path:
            where.append(self.path)
        prefix = ", ".join(where)
        return f"{prefix}: {self.reason}" if prefix else self.reason


@dataclass
class Node:
    """One value of the document: a dict, list or scalar, with its line and its path from the root."""

    value: Any
    line: int | None
    path: str
    source: str = ""
    # For scalars: whether the text was quoted (a quoted "0.5" is a string on purpose).
    quoted: bool = False
    used: set[str] = field(default_factory=set)

    # --- errors -----------------------------------------------------------------------------------
    def error(self, reason: str) -> SourceError:
        return SourceError(reason, line=self.line, path=self.path, source=self.source)

    # --- structure --------------------------------------------------------------------------------
    def is_list(self) -> bool:
        return isinstance(self.value, list)

    def as_map(self) -> dict[str, Node]:
        if not isinstance(self.value, dict):
            raise self.error(f"expected a mapping (key: value), got {self.kind()}")
        return self.value

    def as_list(self) -> list[Node]:
        if not isinstance(self.value, list):
            raise self.error(f"expected a list, got {self.kind()}")
        return self.value

    def kind(self) -> str:
        if isinstance(self.value, dict):
            return "a mapping"
        if isinstance(self.value, list):
            return "a list"
        if self.value is None:
            return "nothing"
        return repr(self.value)

    def has(self, key: str) -> bool:
        return key in self.as_map() and self.as_map()[key].value is not None

    def get(self, key: str) -> Node | None:
        m = self.as_map()
        self.used.add(key)
        node = m.get(key)
        if node is None or node.value is None:
            return None
        return node

    def req(self, key: str) -> Node:
        node = self.get(key)
        if node is None:
            raise SourceError(f"'{key}' is required", line=self.line, path=self.path, source=self.source)
        return node

    def check_keys(self, allowed: set[str]) -> None:
        """Refuse unknown keys: a misspelt 'upto' must not silently become 'no threshold'."""
        for key, node in self.as_map().items():
            if key not in allowed:
                raise SourceError(
                    f"unknown field '{key}' (expected one of: {', '.join(sorted(allowed))})",
                    line=node.line,
                    path=node.path,
                    source=self.source,
                )

    # --- scalars ----------------------------------------------------------------------------------
    def text(self) -> str:
        if isinstance(self.value, (dict, list)) or self.value is None:
            raise self.error(f"expected text, got {self.kind()}")
        return str(self.value)

    def decimal(self, *, minimum: Decimal | None = None, positive: bool = False) -> Decimal:
        if isinstance(self.value, bool) or isinstance(self.value, (dict, list)) or self.value is None:
            raise self.error(f"expected a number, got {self.kind()}")
        raw = str(self.value).strip().replace("_", "")
        if len(raw) > MAX_NUMBER_CHARS:
            raise self.error(f"expected a number of at most {MAX_NUMBER_CHARS} characters, got {raw[:20]!r}…")
        try:
            number = Decimal(raw)
        except InvalidOperation:
            raise self.error(f"expected a number, got {raw!r}") from None
        if not number.is_finite():
            raise self.error(f"expected a finite number, got {raw!r}")
        if number and not MIN_EXPONENT <= number.adjusted() <= MAX_EXPONENT:
            # 1e27 kWh overflowed the bill's arithmetic; 1e-999999999 printed two gigabytes of zeros.
            raise self.error(
                f"{raw} is out of range: numbers here lie between 1e{MIN_EXPONENT} and 1e{MAX_EXPONENT + 1}"
            )
        if positive and number <= 0:
            raise self.error(f"must be greater than 0, got {raw}")
        if minimum is not None and number < minimum:
            raise self.error(f"must be at least {minimum}, got {raw}")
        return number

    def integer(self, *, minimum: int | None = None, maximum: int | None = None) -> int:
        number = self.decimal()
        if number != number.to_integral_value():
            raise self.error(f"expected a whole number, got {self.value}")
        value = int(number)
        if minimum is not None and value < minimum:
            raise self.error(f"must be at least {minimum}, got {value}")
        if maximum is not None and value > maximum:
            raise self.error(f"must be at most {maximum}, got {value}")
        return value

    def date(self) -> dt.date:
        if isinstance(self.value, dt.datetime):
            day = self.value.date()
        elif isinstance(self.value, dt.date):
            day = self.value
        else:
            try:
                day = dt.date.fromisoformat(self.text().strip())
            except ValueError:
                raise self.error(f"expected a date like 2024-07-01, got {self.value!r}") from None
        # The API's bounds (gridcare.core.apitypes.YEAR_MIN/YEAR_MAX): date arithmetic near year 1 or 9999 fails.
        if not 1901 <= day.year <= 9999:
            raise self.error(f"the year must lie between 1901 and 9999, got {day.isoformat()}")
        return day

    def boolean(self) -> bool:
        if isinstance(self.value, bool):
            return self.value
        raw = self.text().strip().lower()
        if raw in {"true", "yes", "1"}:
            return True
        if raw in {"false", "no", "0"}:
            return False
        raise self.error(f"expected true or false, got {self.value!r}")

    def choice(self, options: set[str]) -> str:
        raw = self.text().strip()
        if raw not in options:
            raise self.error(f"must be one of {', '.join(sorted(options))}; got {raw!r}")
        return raw


MAX_NUMBER_CHARS = 40
MIN_EXPONENT, MAX_EXPONENT = -12, 14
# A tariff or a year of usage is a few thousand nodes; YAML aliases can make a small text expand into
# millions ("billion laughs"), and the API accepts YAML inline.
MAX_NODES = 200_000


class _Budget:
    def __init__(self) -> None:
        self.nodes = 0


_BOOL_TAG = "tag:yaml.org,2002:bool"
_NULL_TAG = "tag:yaml.org,2002:null"


def _from_yaml_node(node: yaml.Node, path: str, source: str, budget: _Budget | None = None) -> Node:
    budget = budget or _Budget()
    budget.nodes += 1
    if budget.nodes > MAX_NODES:
        raise SourceError(
            f"the document is too large (more than {MAX_NODES:,} values, aliases expanded)", source=source
        )
    line = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        items: dict[str, Node] = {}
        for key_node, value_node in node.value:
            if not isinstance(key_node, yaml.ScalarNode):
                raise SourceError(
                    "keys must be plain text", line=key_node.start_mark.line + 1, path=path, source=source
                )
            key = str(key_node.value)
            child_path = f"{path}.{key}" if path else key
            if key in items:
                raise SourceError(
                    f"'{key}' appears twice", line=key_node.start_mark.line + 1, path=child_path, source=source
                )
            items[key] = _from_yaml_node(value_node, child_path, source, budget)
        return Node(items, line, path, source)
    if isinstance(node, yaml.SequenceNode):
        return Node(
            [_from_yaml_node(child, f"{path}[{i}]", source, budget) for i, child in enumerate(node.value)],
            line,
            path,
            source,
        )
    if not isinstance(node, yaml.ScalarNode):
        raise SourceError("unsupported YAML node", line=line, path=path, source=source)
    quoted = node.style in ("'", '"')
    value: Any = node.value
    if not quoted:
        if node.tag == _NULL_TAG or value in ("", "~", "null", "Null", "NULL"):
            value = None
        elif node.tag == _BOOL_TAG:
            value = value.lower() in ("true", "yes", "on")
    return Node(value, line, path, source, quoted=quoted)


def _from_python(value: Any, path: str, source: str) -> Node:
    if isinstance(value, dict):
        return Node(
            {str(k): _from_python(v, f"{path}.{k}" if path else str(k), source) for k, v in value.items()},
            None,
            path,
            source,
        )
    if isinstance(value, (list, tuple)):
        return Node([_from_python(v, f"{path}[{i}]", source) for i, v in enumerate(value)], None, path, source)
    if isinstance(value, float):
        # JSON numbers arrive as floats; their shortest repr is the number the sender wrote.
        return Node(repr(value), None, path, source)
    return Node(value, None, path, source)


def parse_document(data: str | bytes | dict[str, Any] | list[Any], *, source: str = "") -> Node:
    """A YAML/JSON text (or an already-parsed JSON value) as a Node tree; syntax errors name their line."""
    try:
        return _parse_document(data, source=source)
    except RecursionError:
        raise SourceError("the document is nested too deeply", source=source) from None


def _parse_document(data: str | bytes | dict[str, Any] | list[Any], *, source: str) -> Node:
    if isinstance(data, (dict, list)):
        return _from_python(data, "", source)
    if isinstance(data, bytes):
        raw = data
        try:
            data = raw.decode("utf-8-sig")
        except UnicodeDecodeError:
            try:
                data = raw.decode("gb18030")  # saved by a Chinese Windows editor
            except UnicodeDecodeError:
                raise SourceError("the file is neither UTF-8 nor GBK text", source=source) from None
    try:
        root = yaml.compose(data, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else None
        raise SourceError(f"not valid YAML: {exc.problem or exc.context}", line=line, source=source) from None
    except yaml.YAMLError as exc:
        raise SourceError(f"not valid YAML: {exc}", source=source) from None
    if root is None:
        raise SourceError("the document is empty", line=1, source=source)
    return _from_yaml_node(root, "", source)
