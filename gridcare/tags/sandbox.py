"""The sandbox for analyst-written SQL: what a rule may say, where it runs, how long, and what its errors show.

Analysts write SQL (the `sql` rule kind) and conditions (the `conditions` kind); both reach DuckDB or Spark.
The protection is layered, so that one layer missing a trick does not open the server:

1. `check_query` / `check_condition`: SQLGlot parses the text and every node must be of an allowed kind — one
   SELECT (WITH / UNION allowed), the registered tables and CTEs named as plain identifiers, functions from an
   allow-list of scalar, aggregate and window functions. Anything else is refused naming the construct.
2. `check_duckdb_parse`: DuckDB's own parser (json_serialize_sql, on a connection that runs no user text) must
   agree: one SELECT, no table functions, no schema-qualified function, no table but the registered ones.
3. `sandboxed_connection`: the rule runs on a DuckDB database whose trusted setup (views over GridCare's own
   Parquet paths) is done first; then external access is switched off and the configuration locked, so even a
   call both checks missed cannot read a file, attach a database, load an extension or raise the memory limit.
4. `run_with_timeout`: every statement of user text is interrupted after a time limit.
5. `safe_message`: DuckDB's error text is never shown as is (it can carry the content of what failed); only a
   known-safe message (a missing column named in the rule itself) or a generic one per error class goes out.
"""

from __future__ import annotations

import json
import os
import re
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from functools import cache
from typing import Any, TypeVar

import duckdb
import sqlglot
from sqlglot import exp

T = TypeVar("T")

# Limits; the environment may change them (an operator with a bigger machine or a slower store).
RULE_TIMEOUT_SECONDS = float(os.environ.get("GRIDCARE_TAGS_RULE_TIMEOUT", "300"))
VALIDATE_TIMEOUT_SECONDS = float(os.environ.get("GRIDCARE_TAGS_VALIDATE_TIMEOUT", "5"))
VALIDATE_MEMORY_LIMIT = os.environ.get("GRIDCARE_TAGS_VALIDATE_MEMORY", "256MB")
MAX_SQL_LENGTH = 20_000
MAX_NESTING = 100  # SQLGlot and DuckDB both recurse over the tree; a deep one is refused before it is walked

_PLAIN_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


class Refused(ValueError):
    """User text the sandbox will not run; the message names the construct and never carries data."""

    def __init__(self, message: str, *, line: int | None = None, column: int | None = None):
        super().__init__(message)
        self.message = message
        self.line = line
        self.column = column


def run_memory_limit() -> str:
    """Memory for a whole tag run: GRIDCARE_TAGS_MEMORY_LIMIT, else half of the machine's memory."""
    configured = os.environ.get("GRIDCARE_TAGS_MEMORY_LIMIT")
    if configured:
        return configured
    try:
        total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return "4GB"
    return f"{max(total // 2 // 2**20, 256)}MB"


# ------------------------------------------------------------------------------------------ the allow-lists

# DuckDB names of the functions a rule may call: pure scalar, aggregate and window functions. Nothing that
# reads or writes outside the query (files, settings, environment, catalog, other databases, extensions).
_DUCKDB_FUNCTIONS = """
count count_star sum avg mean min max median mode quantile quantile_cont quantile_disc percentile_cont
percentile_disc stddev stddev_pop stddev_samp variance var_pop var_samp corr covar_pop covar_samp regr_slope
regr_intercept regr_r2 regr_count regr_avgx regr_avgy arg_max arg_min argmax argmin max_by min_by first last
any_value bool_and bool_or count_if countif string_agg group_concat list array_agg approx_count_distinct
approx_quantile entropy kurtosis skewness product fsum favg histogram
row_number rank dense_rank percent_rank cume_dist ntile lag lead first_value last_value nth_value
abs round floor ceil ceiling sqrt cbrt pow power exp ln log log2 log10 sign greatest least mod trunc even pi
radians degrees sin cos tan asin acos atan atan2 isnan isinf isfinite round_even gamma lgamma factorial
coalesce ifnull nullif if iff cast try_cast
lower upper lcase ucase length len strlen char_length substr substring left right trim ltrim rtrim replace
concat concat_ws contains starts_with ends_with prefix suffix strpos instr position lpad rpad reverse
split_part string_split str_split regexp_matches regexp_replace regexp_extract regexp_full_match format printf
like_escape ilike_escape md5 hash ascii chr translate
date_diff datediff date_sub datesub date_add date_part datepart date_trunc datetrunc extract year month day
dayofweek dayofmonth dayofyear week weekofyear weekday quarter hour minute second millisecond epoch make_date
make_time make_timestamp strftime strptime current_date last_day age isodow isoyear dayname monthname yearweek to_days
to_months to_years to_hours to_minutes to_seconds time_bucket
list_value list_pack array_value list_contains array_contains list_has list_extract array_extract
list_element array_length list_sum list_avg list_min list_max list_count list_distinct list_sort
struct_pack struct_extract row
"""
# Function names SQLGlot gives the same functions once parsed (e.g. `stddev_samp` → STDDEV_SAMP, `if` → IF),
# computed below from the DuckDB names; plus the node names of CASE and the boolean connectives.
_EXTRA_CANONICAL = {"case", "and", "or", "xor", "not", "exists"}


@cache
def allowed_functions() -> frozenset[str]:
    names = set(_DUCKDB_FUNCTIONS.split())
    for name in list(names):
        # SQLGlot picks its node by name *and* arity (strftime(x, fmt) → TIME_TO_STR), so try a few shapes.
        for args in ("x", "x, 'y'", "'y', x", "x, 'y', 'z'"):
            try:
                tree = sqlglot.parse_one(f"SELECT {name}({args})", read="duckdb")
            except sqlglot.errors.SqlglotError:
                continue
            for func in tree.find_all(exp.Func):
                names.add(function_name(func))
    for text in ("SELECT position('a' IN x)", "SELECT current_date"):
        tree = sqlglot.parse_one(text, read="duckdb")
        names |= {function_name(func) for func in tree.find_all(exp.Func)}
    return frozenset(n.lower() for n in names | _EXTRA_CANONICAL)


def function_name(func: exp.Func) -> str:
    if isinstance(func, exp.Anonymous | exp.AnonymousAggFunc):
        return str(func.name).lower()
    return func.sql_name().lower()


# Node kinds a query may contain besides functions (checked by name) and tables (checked against the list).
_ALLOWED_NODES: tuple[type[exp.Expr], ...] = (
    exp.Select,
    exp.Union,
    exp.Intersect,
    exp.Except,
    exp.Subquery,
    exp.With,
    exp.CTE,
    exp.TableAlias,
    exp.From,
    exp.Join,
    exp.Where,
    exp.Group,
    exp.Having,
    exp.Qualify,
    exp.Order,
    exp.Ordered,
    exp.Limit,
    exp.Offset,
    exp.Distinct,
    exp.Window,
    exp.WindowSpec,
    exp.Column,
    exp.Identifier,
    exp.Star,
    exp.Literal,
    exp.Null,
    exp.Boolean,
    exp.Alias,
    exp.Paren,
    exp.DataType,
    exp.DataTypeParam,
    exp.Interval,
    exp.Var,
    exp.Tuple,
    exp.Array,
    exp.Struct,
    exp.PropertyEQ,
    exp.Bracket,
    exp.Slice,
    exp.Filter,
    exp.Binary,  # arithmetic, comparisons, AND/OR, LIKE, ||
    exp.Not,
    exp.Neg,
    exp.BitwiseNot,
    exp.In,
    exp.Between,
    exp.Exists,
    exp.Any,
    exp.All,
    exp.Escape,
    exp.Rollup,
    exp.Cube,
    exp.GroupingSets,
    exp.Dot,  # struct field access; a qualified *function* is refused separately
    exp.Values,
)

# Spark-only escapes, refused after transpiling even though the DuckDB check should have stopped them.
_SPARK_FORBIDDEN = re.compile(
    r"^(reflect|java_method|try_reflect|read_files|input_file_name|input_file_block_\w+|current_user|"
    r"session_user|user|version|spark_partition_id|assert_true|raise_error|url_decode|parse_url|http\w*)$",
    re.IGNORECASE,
)


def _construct(node: exp.Expr) -> str:
    return node.key.upper()


def _depth_ok(text: str) -> None:
    if len(text) > MAX_SQL_LENGTH:
        raise Refused(f"SQL 太长：最多 {MAX_SQL_LENGTH} 个字符")
    depth = deepest = 0
    for ch in text:
        if ch in "([":
            depth += 1
            deepest = max(deepest, depth)
        elif ch in ")]":
            depth -= 1
    if deepest > MAX_NESTING:
        raise Refused(f"SQL 括号嵌套太深：最多 {MAX_NESTING} 层")


def _parse(text: str, dialect: str) -> list[exp.Expr | None]:
    _depth_ok(text)
    try:
        return sqlglot.parse(text, read=dialect)
    except sqlglot.errors.ParseError as exc:
        err = exc.errors[0] if exc.errors else {}
        # The description is SQLGlot's own wording about the grammar, not content of the query.
        raise Refused(
            f"SQL 语法错误：{err.get('description', '无法解析')}", line=err.get("line"), column=err.get("col")
        ) from None
    except (sqlglot.errors.SqlglotError, RecursionError):
        raise Refused("SQL 无法解析") from None


def _check_nodes(tree: exp.Expr, *, tables: Iterable[str], ctes: set[str], dialect: str) -> set[str]:
    """Walk every node: allowed kinds, allowed functions, registered tables; returns the tables read."""
    registered = {t.lower() for t in tables}
    allowed = allowed_functions()
    read: set[str] = set()
    for node in tree.walk():
        if isinstance(node, exp.Table):
            read |= _check_table(node, registered, ctes)
        elif isinstance(node, exp.Func):
            if isinstance(node, exp.Binary | exp.Not | exp.Neg):
                continue
            name = function_name(node)
            parent = node.parent
            if isinstance(parent, exp.Dot) and parent.expression is node:
                raise Refused(f"不允许使用带模式名的函数 {parent.sql(dialect=dialect)[:60]}")
            if name not in allowed or (dialect == "spark" and _SPARK_FORBIDDEN.match(name)):
                raise Refused(f"不允许使用函数 {name[:60]}")
        elif isinstance(node, exp.TableAlias | exp.CTE):
            continue
        elif not isinstance(node, _ALLOWED_NODES):
            raise Refused(f"SQL 规则里不允许使用 {_construct(node)}")
    return read


def _check_table(table: exp.Table, registered: set[str], ctes: set[str]) -> set[str]:
    ident = table.this
    if isinstance(ident, exp.Func):
        raise Refused(f"不允许使用函数 {function_name(ident)[:60]}（FROM 后只能写登记的表）")
    if not isinstance(ident, exp.Identifier):
        raise Refused("SQL 规则只能从登记的表中读取（FROM 后不允许写函数或文件）")
    name = str(ident.this)
    if table.args.get("db") or table.args.get("catalog"):
        raise Refused(f"不允许带库名或模式名的表 {table.sql()[:60]}")
    if not _PLAIN_NAME.match(name):
        raise Refused(f"表名只能用字母、数字和下划线（不能是文件路径）：{name[:60]}")
    extra = sorted(k for k, v in table.args.items() if v and k not in ("this", "alias", "db", "catalog"))
    if extra:
        raise Refused(f"SQL 规则里表 {name} 不支持 {extra[0].upper()} 写法")
    if name.lower() in ctes:
        return set()
    if name.lower() not in registered:
        raise Refused(f"SQL 规则读取了未登记的表 {name}；可用表：{', '.join(sorted(registered))}")
    return {name.lower()}


# The first word of a statement, after comments and opening parentheses.
_FIRST_WORD = re.compile(r"^(?:\s+|--[^\n]*\n?|/\*.*?\*/|\()*([A-Za-z_]+)", re.DOTALL)


def check_query(sql: str, tables: Iterable[str], *, dialect: str = "duckdb") -> frozenset[str]:
    """One SELECT (WITH / UNION allowed) over `tables` only; returns the tables it reads.

    Raises Refused naming the statement, function, table or construct that is not allowed.
    """
    if not sql.strip():
        raise Refused("SQL 规则不能为空")
    first = _FIRST_WORD.match(sql)
    if first and first.group(1).lower() not in ("select", "with", "from", "values"):
        raise Refused(f"SQL 规则只能是 SELECT 语句，不允许 {first.group(1).upper()[:30]}")
    statements = [s for s in _parse(sql, dialect) if s is not None]
    if len(statements) != 1:
        raise Refused("SQL 规则只能是一条 SELECT 语句（不能用分号写多条）")
    tree = statements[0]
    if not isinstance(tree, exp.Query):
        what = tree.key.upper() if not isinstance(tree, exp.Command) else str(tree.this).upper()
        raise Refused(f"SQL 规则只能是 SELECT 语句，不允许 {what[:30]}")
    ctes: set[str] = set()
    for cte in tree.find_all(exp.CTE):
        name = cte.alias_or_name
        if not _PLAIN_NAME.match(name):
            raise Refused(f"WITH 子句的名称只能用字母、数字和下划线（不能是文件路径）：{name[:60]}")
        ctes.add(name.lower())
    return frozenset(_check_nodes(tree, tables=tables, ctes=ctes, dialect=dialect))


def check_condition(cond: str) -> exp.Expr:
    """A boolean expression over columns (the `conditions` rule kind): no tables, subqueries or other functions.

    Returns the parsed tree; the caller regenerates SQL from it, so text outside the expression (a comment,
    a closing parenthesis, a second statement) can never reach the compiled query.
    """
    if not cond.strip():
        raise Refused("条件不能为空")
    statements = [s for s in _parse(cond, "duckdb") if s is not None]
    if len(statements) != 1:
        raise Refused("条件只能是一个表达式")
    tree = statements[0]
    if tree.find(exp.Query, exp.Subquery, exp.Table) is not None or isinstance(tree, exp.Query | exp.Command):
        raise Refused("条件里不能写子查询或语句；请改用 SQL 规则")
    _check_nodes(tree, tables=(), ctes=set(), dialect="duckdb")
    return tree


# ------------------------------------------------------------------------------------ DuckDB's own parser


def _duckdb_tree(sql: str) -> dict[str, Any]:
    con = duckdb.connect(":memory:")
    try:
        row = con.execute("SELECT json_serialize_sql(?)", [sql]).fetchone()
    except duckdb.Error:
        raise Refused("SQL 无法解析") from None
    finally:
        con.close()
    doc = json.loads(row[0]) if row else {"error": True}
    if doc.get("error"):
        # DuckDB refuses to serialise anything but SELECT; its message names no data, but keep ours.
        raise Refused("SQL 规则只能是一条 SELECT 语句")
    return doc


def check_duckdb_parse(sql: str, tables: Iterable[str]) -> None:
    """DuckDB's parse of the rule: one SELECT, no table function, only registered tables and plain CTE names,
    functions unqualified and on the allow-list (operators aside)."""
    doc = _duckdb_tree(sql)
    if len(doc.get("statements", [])) != 1:
        raise Refused("SQL 规则只能是一条 SELECT 语句（不能用分号写多条）")
    registered = {t.lower() for t in tables}
    ctes: set[str] = set()
    base: list[dict[str, Any]] = []
    allowed = allowed_functions()

    def walk(node: Any) -> None:
        if isinstance(node, list):
            for item in node:
                walk(item)
            return
        if not isinstance(node, dict):
            return
        kind = node.get("type")
        if kind == "TABLE_FUNCTION":
            fn = node.get("function", {}).get("function_name", "?")
            raise Refused(f"不允许使用函数 {str(fn)[:60]}（FROM 后只能写登记的表）")
        if kind == "BASE_TABLE":
            base.append(node)
        if node.get("class") in ("FUNCTION", "WINDOW"):
            name = str(node.get("function_name", "")).lower()
            if node.get("schema") or node.get("catalog"):
                raise Refused(f"不允许使用带模式名的函数 {node.get('schema') or node.get('catalog')}.{name[:60]}")
            if not node.get("is_operator") and name not in allowed and not _DUCKDB_INTERNAL.match(name):
                raise Refused(f"不允许使用函数 {name[:60]}")
        cte_map = node.get("cte_map")
        if isinstance(cte_map, dict):
            for entry in cte_map.get("map", []):
                ctes.add(str(entry.get("key", "")).lower())
        for value in node.values():
            walk(value)

    walk(doc["statements"])
    for name in ctes:
        if not _PLAIN_NAME.match(name):
            raise Refused(f"WITH 子句的名称只能用字母、数字和下划线（不能是文件路径）：{name[:60]}")
    for table in base:
        name = str(table.get("table_name", "")).lower()
        if table.get("schema_name") or table.get("catalog_name"):
            raise Refused(f"不允许带库名或模式名的表 {table.get('schema_name')}.{name[:60]}")
        if not _PLAIN_NAME.match(name) or (name not in registered and name not in ctes):
            raise Refused(f"SQL 规则读取了未登记的表 {name[:60]}")


# Names DuckDB's parser itself produces for syntax (CASE arms, `x[1]`, `[1, 2]`, `{'a': 1}`, `a || b`, LIKE …).
_DUCKDB_INTERNAL = re.compile(
    r"^(array_extract|array_slice|list_value|struct_pack|row|concat|~~|!~~|~~\*|!~~\*|~~~|!~~~|"
    r"regexp_full_match|like_escape|not_like_escape|ilike_escape|not_ilike_escape|"
    r"count_star|date_part|\|\||@|list_slice|try_strptime|nullif)$"
)


# ------------------------------------------------------------------------------------------ the connection


def _allowed_locations(files: Iterable[str]) -> tuple[list[str], list[str]]:
    """Parquet paths to allow: a file by itself, a glob (`dir/**/*.parquet`) by its directory."""
    paths, dirs = [], []
    for f in files:
        if any(ch in f for ch in "*?["):
            head = re.split(r"[*?\[]", f, maxsplit=1)[0]
            dirs.append(head if head.endswith("/") else head.rsplit("/", 1)[0] + "/")
        else:
            paths.append(f)
    return paths, dirs


def _sql_list(items: Sequence[str]) -> str:
    return "[" + ", ".join("'" + s.replace("'", "''") + "'" for s in items) + "]"


def sandboxed_connection(
    files: Iterable[str] = (),
    *,
    prepare: Callable[[duckdb.DuckDBPyConnection], None] | None = None,
    memory_limit: str | None = None,
    threads: int | None = None,
    temp_dir: str | None = None,
    settings: Mapping[str, str] | None = None,
) -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB for user text: `prepare` (trusted GridCare code) creates the views over `files`,
    then external access is switched off and the configuration locked before anyone else uses it."""
    con = duckdb.connect(
        ":memory:",
        config={
            "autoinstall_known_extensions": False,
            "autoload_known_extensions": False,
            "allow_community_extensions": False,
            # Never let a table name resolve to a Python variable of the calling code.
            "python_enable_replacements": False,
        },
    )
    try:
        paths, dirs = _allowed_locations(files)
        if paths:
            con.execute(f"SET allowed_paths = {_sql_list(paths)}")
        if dirs:
            con.execute(f"SET allowed_directories = {_sql_list(dirs)}")
        con.execute(f"SET memory_limit = '{_checked_size(memory_limit or run_memory_limit())}'")
        if threads:
            con.execute(f"SET threads = {int(threads)}")
        if temp_dir is not None:
            con.execute(f"SET temp_directory = {_sql_list([temp_dir])[1:-1]}")
        for key, value in (settings or {}).items():
            if not _PLAIN_NAME.match(key):
                raise ValueError(key)
            con.execute(f"SET {key} = {_sql_list([value])[1:-1]}")
        if prepare is not None:
            prepare(con)
        con.execute("SET enable_external_access = false")
        con.execute("SET lock_configuration = true")
    except BaseException:
        con.close()
        raise
    return con


def _checked_size(size: str) -> str:
    if not re.fullmatch(r"\d+(\.\d+)?\s*[KMGT]?i?B", size.strip(), re.IGNORECASE):
        raise ValueError(f"内存上限格式不对：{size!r}（例如 4GB、512MB）")
    return size.strip()


def run_with_timeout(
    con: duckdb.DuckDBPyConnection, work: Callable[[duckdb.DuckDBPyConnection], T], seconds: float
) -> T:
    """Run `work(con)` and interrupt DuckDB when it takes longer than `seconds` (Refused names the limit)."""
    fired = threading.Event()

    def stop() -> None:
        fired.set()
        con.interrupt()

    timer = threading.Timer(seconds, stop)
    timer.daemon = True
    timer.start()
    try:
        return work(con)
    except duckdb.Error:
        if fired.is_set():
            raise Refused(f"SQL 执行超过时间上限 {seconds:g} 秒，已中止") from None
        raise
    finally:
        timer.cancel()


# ---------------------------------------------------------------------------------------------- the errors

_SAFE_PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r'Referenced column "([^"\n]{1,64})" not found'), "列 {0} 不存在"),
    (re.compile(r'Values list "[^"\n]{1,64}" does not have a column named "([^"\n]{1,64})"'), "列 {0} 不存在"),
    (re.compile(r'Table "([^"\n]{1,64})" does not have a column named "([^"\n]{1,64})"'), "表 {0} 没有列 {1}"),
    (re.compile(r'Referenced table "([^"\n]{1,64})" not found'), "表 {0} 不存在"),
    (re.compile(r"Table with name ([^\s!\n]{1,64}) does not exist"), "表 {0} 不存在"),
    (re.compile(r"Function with name ([^\s(\n]{1,64}) does not exist"), "函数 {0} 不存在"),
    (re.compile(r'column "([^"\n]{1,64})" must appear in the GROUP BY clause'), "列 {0} 必须出现在 GROUP BY 中"),
    (re.compile(r'Ambiguous reference to column name "([^"\n]{1,64})"'), "列名 {0} 有歧义，请加表名"),
)

_GENERIC: tuple[tuple[type[BaseException], str], ...] = (
    (duckdb.InterruptException, "SQL 执行被中止"),
    (duckdb.OutOfMemoryException, "SQL 执行超出内存上限"),
    (duckdb.PermissionException, "SQL 试图访问文件或外部资源，不允许"),
    (duckdb.BinderException, "SQL 绑定失败：列、表、函数或类型不匹配"),
    (duckdb.CatalogException, "SQL 引用了不存在的表或函数"),
    (duckdb.ParserException, "SQL 语法错误"),
    (duckdb.ConversionException, "SQL 执行时类型转换失败"),
    (duckdb.OutOfRangeException, "SQL 执行时数值超出范围"),
    (duckdb.InvalidInputException, "SQL 执行时输入无效"),
    (duckdb.NotImplementedException, "SQL 用到了不支持的写法"),
)


def safe_message(exc: BaseException, sql: str) -> str:
    """A message about a failed statement that names only what the rule's own text says, never data.

    A name is echoed only if it appears in the submitted SQL as a plain identifier: DuckDB's messages can
    quote values from the data or from files, and those never leave this function.
    """
    text = str(exc)
    for pattern, template in _SAFE_PATTERNS:
        m = pattern.search(text)
        if m and all(_PLAIN_NAME.match(g) and g.lower() in sql.lower() for g in m.groups()):
            return template.format(*m.groups())
    for kind, message in _GENERIC:
        if isinstance(exc, kind):
            return message
    return "SQL 执行出错"


def position(message: str, sql: str) -> tuple[int | None, int | None]:
    """Line and column (1-based) from DuckDB's `LINE n: …` and caret lines, mapped back onto `sql`.

    Only the two numbers leave; the quoted line is the user's own SQL anyway.
    """
    lines = message.splitlines()
    for i, text in enumerate(lines):
        m = re.match(r"LINE (\d+): ", text)
        if m and i + 1 < len(lines) and "^" in lines[i + 1]:
            line_no = int(m.group(1))
            shown = text[m.end() :]
            caret = lines[i + 1].index("^") - m.end()
            source_lines = sql.splitlines() or [""]
            source = source_lines[min(line_no, len(source_lines)) - 1]
            start = 0
            if shown.startswith("..."):
                fragment = shown[3:40]
                found = source.find(fragment)
                start = found - 3 if found >= 0 else 0
            return line_no, start + caret + 1
    return None, None
