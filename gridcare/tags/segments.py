"""Segments: boolean expressions over tag values, parsed here and evaluated on Roaring bitmaps.

Grammar (English or Chinese operators, case-insensitive):
    expr   := term (("OR" | "或") term)*
    term   := factor (("AND" | "且") factor)*
    factor := ("NOT" | "非") factor | "(" expr ")" | cond
    cond   := TAG ("=" | "!=") VALUE | TAG "IN" "(" VALUE ("," VALUE)* ")"
TAG is a tag code or its Chinese name; VALUE is a bare word or a quoted string.
Example: `用电类型=居民 AND (欠费风险=高 OR NOT 交费及时性=按时交费)`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from pyroaring import BitMap

_TOKEN = re.compile(
    r"""\s*(?:(?P<lp>\()|(?P<rp>\))|(?P<comma>,)|(?P<ne>!=|≠)|(?P<eq>=)
    |(?P<str>"[^"]*"|'[^']*'|“[^”]*”)|(?P<word>[^\s()=!,'"“”≠]+))""",
    re.VERBOSE,
)
_AND = {"and", "且", "&&"}
# The parser and the evaluator recurse once per NOT or parenthesis: bound both, so a pasted or generated
# expression is refused with a message instead of exhausting Python's stack.
MAX_DEPTH = 50
MAX_LENGTH = 10_000
_OR = {"or", "或", "||"}
_NOT = {"not", "非", "!"}


class SegmentError(ValueError):
    def __init__(self, message: str, position: int | None = None):
        super().__init__(message)
        self.message = message
        self.position = position


@dataclass(frozen=True)
class Cond:
    tag: str
    values: tuple[str, ...]
    negate: bool = False


@dataclass(frozen=True)
class Not:
    inner: Any


@dataclass(frozen=True)
class BoolOp:
    op: str  # "and" | "or"
    items: tuple[Any, ...]


def _tokens(text: str) -> list[tuple[str, str, int]]:
    out = []
    pos = 0
    text = text.rstrip()
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if not m or m.end() == pos:
            raise SegmentError(f"第 {pos + 1} 个字符无法识别：{text[pos : pos + 10]!r}", pos)
        kind = m.lastgroup or ""
        value = m.group(kind)
        if kind == "str":
            value = value[1:-1]
        out.append((kind, value, m.start(kind)))
        pos = m.end()
    return out


def parse(text: str) -> Any:
    if len(text) > MAX_LENGTH:
        raise SegmentError(f"表达式太长：最多 {MAX_LENGTH} 个字符，实际 {len(text)} 个")
    tokens = _tokens(text)
    if not tokens:
        raise SegmentError("表达式为空：例如 用电类型=居民 AND 欠费风险=高")
    i = 0
    depth = 0

    def peek() -> tuple[str, str, int] | None:
        return tokens[i] if i < len(tokens) else None

    def take(kind: str | None = None) -> tuple[str, str, int]:
        nonlocal i
        tok = peek()
        if tok is None:
            raise SegmentError("表达式不完整：结尾缺少条件或右括号", len(text))
        if kind and tok[0] != kind:
            raise SegmentError(f"第 {tok[2] + 1} 个字符处应为 {kind}，却是 {tok[1]!r}", tok[2])
        i += 1
        return tok

    def is_word(values: set[str]) -> bool:
        tok = peek()
        return tok is not None and tok[0] == "word" and tok[1].lower() in values

    def expr() -> Any:
        items = [term()]
        while is_word(_OR):
            take()
            items.append(term())
        return items[0] if len(items) == 1 else BoolOp("or", tuple(items))

    def term() -> Any:
        items = [factor()]
        while is_word(_AND):
            take()
            items.append(factor())
        return items[0] if len(items) == 1 else BoolOp("and", tuple(items))

    def factor() -> Any:
        nonlocal depth
        tok = peek()
        if is_word(_NOT) or (tok is not None and tok[0] == "lp"):
            depth += 1
            if depth > MAX_DEPTH:
                where = tok[2] if tok else len(text)
                raise SegmentError(
                    f"第 {where + 1} 个字符处嵌套太深：括号和 NOT 合计最多 {MAX_DEPTH} 层，请简化表达式", where
                )
            try:
                if is_word(_NOT):
                    take()
                    return Not(factor())
                take()
                inner = expr()
                take("rp")
                return inner
            finally:
                depth -= 1
        return cond()

    def value() -> str:
        tok = take()
        if tok[0] not in ("word", "str"):
            raise SegmentError(f"第 {tok[2] + 1} 个字符处应为标签值", tok[2])
        return tok[1]

    def cond() -> Cond:
        tag = take()
        if tag[0] not in ("word", "str"):
            raise SegmentError(f"第 {tag[2] + 1} 个字符处应为标签名", tag[2])
        op = take()
        if op[0] == "eq":
            return Cond(tag[1], (value(),))
        if op[0] == "ne":
            return Cond(tag[1], (value(),), negate=True)
        if op[0] == "word" and op[1].lower() in ("in", "属于"):
            take("lp")
            values = [value()]
            while peek() is not None and peek()[0] == "comma":  # type: ignore[index]
                take()
                values.append(value())
            take("rp")
            return Cond(tag[1], tuple(values))
        raise SegmentError(f"第 {op[2] + 1} 个字符处应为 = 、!= 或 IN", op[2])

    tree = expr()
    if i != len(tokens):
        tok = tokens[i]
        raise SegmentError(f"第 {tok[2] + 1} 个字符处多余：{tok[1]!r}（条件之间请用 AND / OR 连接）", tok[2])
    return tree


def conditions(tree: Any) -> list[Cond]:
    if isinstance(tree, Cond):
        return [tree]
    if isinstance(tree, Not):
        return conditions(tree.inner)
    return [c for item in tree.items for c in conditions(item)]


def evaluate(tree: Any, lookup: Callable[[str, str], BitMap], universe: BitMap) -> BitMap:
    """The customers matching `tree`; `lookup(tag, value)` gives the bitmap of one tag value."""
    if isinstance(tree, Cond):
        result = (
            BitMap.union(*(lookup(tree.tag, v) for v in tree.values))
            if len(tree.values) > 1
            else lookup(tree.tag, tree.values[0])
        )
        return universe - result if tree.negate else result
    if isinstance(tree, Not):
        return universe - evaluate(tree.inner, lookup, universe)
    parts = [evaluate(item, lookup, universe) for item in tree.items]
    if tree.op == "and":
        return BitMap.intersection(*parts)
    return BitMap.union(*parts)


def resolver(
    bitmaps: Mapping[tuple[str, str], BitMap], names: Mapping[str, str], values: Mapping[str, list[str]]
) -> Callable[[str, str], BitMap]:
    """A lookup that accepts tag codes or names and refuses unknown tags or values with a useful message."""

    def lookup(tag: str, value: str) -> BitMap:
        code = tag if tag in values else names.get(tag)
        if code is None:
            raise SegmentError(f"没有名为 {tag!r} 的标签")
        if value not in values[code]:
            raise SegmentError(f"标签 {tag} 没有值 {value!r}；可选：{'、'.join(values[code])}")
        return bitmaps.get((code, value), BitMap())

    return lookup
