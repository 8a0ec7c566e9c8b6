"""Chinese message templates with named placeholders, and their rendering (pure: no database).

Placeholders: {customer_name} {account_no} {window} {scope} {reason} {etr} {hotline} {company} {title}
{amount} {due_date} {balance} {disconnect_date} {month} {text}. An edited template is checked against this
list when it is saved, so a typo is reported to the person editing instead of reaching a customer.

Templates are written by shift leads and administrators, so they are user text: they are never handed to
`str.format` or to Django's template engine (both can walk attributes: `{customer.owner.password}`,
`{{ settings.SECRET_KEY }}`). `render` substitutes plain names from a dict of strings itself, and the output
of each value and of the whole message is bounded.
"""

from __future__ import annotations

import re
import string
from dataclasses import dataclass
from typing import Any

PLACEHOLDERS = {
    "customer_name": "客户名称",
    "account_no": "户号",
    "window": "停电时间",
    "scope": "停电范围",
    "reason": "原因",
    "etr": "预计恢复送电时间",
    "hotline": "服务热线",
    "company": "供电单位",
    "title": "标题",
    "amount": "金额",
    "due_date": "缴费截止日",
    "balance": "余额",
    "disconnect_date": "停电日期",
    "month": "账期",
    "text": "公告正文",
}


@dataclass(frozen=True)
class Template:
    subject: str
    body: str


_OUTAGE_TAIL = "如有疑问请致电{hotline}。"
DEFAULTS: dict[str, Template] = {
    "outage_published": Template(
        "停电通知：{title}",
        "尊敬的{customer_name}（户号{account_no}）：因{reason}，{scope}将于{window}停电，请提前做好准备。"
        + _OUTAGE_TAIL,
    ),
    "outage_changed": Template(
        "停电时间变更：{title}",
        "尊敬的{customer_name}（户号{account_no}）：{scope}的停电时间已调整为{window}（原因：{reason}）。"
        + _OUTAGE_TAIL,
    ),
    "outage_cancelled": Template(
        "停电取消：{title}",
        "尊敬的{customer_name}（户号{account_no}）：原定{window}的停电（{scope}）已取消，给您带来不便敬请谅解。"
        + _OUTAGE_TAIL,
    ),
    "outage_released": Template(
        "停电范围调整：{title}",
        "尊敬的{customer_name}（户号{account_no}）：经调整，您所在位置不再受{window}停电影响。" + _OUTAGE_TAIL,
    ),
    "outage_etr": Template(
        "恢复送电时间更新：{title}",
        "尊敬的{customer_name}（户号{account_no}）：{scope}因{reason}停电，抢修人员正在处理，"
        "预计{etr}恢复送电。" + _OUTAGE_TAIL,
    ),
    "outage_restored": Template(
        "已恢复送电：{title}",
        "尊敬的{customer_name}（户号{account_no}）：{scope}已恢复送电。如您家中仍未来电，请致电{hotline}。",
    ),
    "bill_issued": Template(
        "{month}电费账单",
        "尊敬的{customer_name}（户号{account_no}）：您{month}电费{amount}元，请于{due_date}前缴纳。"
        "咨询请致电{hotline}。",
    ),
    "payment_due": Template(
        "缴费提醒",
        "尊敬的{customer_name}（户号{account_no}）：您{month}电费{amount}元将于{due_date}到期，请及时缴纳。"
        "咨询请致电{hotline}。",
    ),
    "low_balance": Template(
        "电费余额提醒",
        "尊敬的{customer_name}（户号{account_no}）：您的电费余额为{balance}元，请及时充值，以免影响用电。"
        "咨询请致电{hotline}。",
    ),
    "arrears_disconnect": Template(
        "欠费停电预告",
        "尊敬的{customer_name}（户号{account_no}）：您已欠电费{amount}元，如未在{disconnect_date}前结清，"
        "将依法停止供电。咨询请致电{hotline}。",
    ),
    "reconnected": Template(
        "缴费复电通知",
        "尊敬的{customer_name}（户号{account_no}）：已收到您的缴费，我们将在24小时内为您恢复供电。"
        "咨询请致电{hotline}。",
    ),
    "announcement": Template("{title}", "尊敬的{customer_name}：{text} 咨询请致电{hotline}。"),
}


class TemplateError(ValueError):
    pass


MAX_TEMPLATE_LENGTH = 2000  # characters of one template (an SMS is 70, a long e-mail notice a few hundred)
MAX_VALUE_LENGTH = 1000  # characters of one substituted value
MAX_RENDERED_LENGTH = 8000  # characters of a rendered subject or body

# Other template languages a person may paste from elsewhere; named in the refusal so they know what to change.
_FOREIGN_SYNTAX: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"\{%"), "模板标签 {% … %}（如 {% load %}、{% include %}、{% debug %}）"),
    (re.compile(r"\{#"), "模板注释 {# … #}"),
    (re.compile(r"\{\{\s*[A-Za-z_][\w.\[\]]*\s*(\|[^}]*)?\}\}"), "双花括号变量 {{ … }}"),
)


def _syntax_hint(text: str, exc: ValueError) -> str:
    """Say where the braces go wrong, in words a person editing a template can act on."""
    depth, opened = 0, -1
    i = 0
    while i < len(text):
        ch = text[i]
        if ch in "{}" and text[i : i + 2] in ("{{", "}}") and depth == 0:
            i += 2  # an escaped brace
            continue
        if ch == "{":
            if depth:
                return f"第 {opened + 1} 个字符起的“{text[opened:i]}”缺少右花括号“}}”（占位符内不能再有“{{”）"
            depth, opened = 1, i
        elif ch == "}":
            if not depth:
                return f"第 {i + 1} 个字符处多了一个“}}”（要显示花括号请写成“}}}}”）"
            depth = 0
        i += 1
    if depth:
        return f"第 {opened + 1} 个字符起的“{text[opened : opened + 12]}”缺少右花括号“}}”"
    return str(exc)


def validate(text: str) -> None:
    """Refuse what would fail or go wrong when a message is rendered: bad braces, unknown placeholders,
    empty `{}`, and format options (`{amount:d}`, `{title!r}`, `{account_no[0]}`) that templates do not use."""
    if len(text) > MAX_TEMPLATE_LENGTH:
        raise TemplateError(f"模板太长：最多 {MAX_TEMPLATE_LENGTH} 个字符，实际 {len(text)} 个")
    for pattern, what in _FOREIGN_SYNTAX:
        m = pattern.search(text)
        if m:
            raise TemplateError(
                f"模板不支持{what}：第 {m.start() + 1} 个字符起“{text[m.start() : m.start() + 30]}”；"
                "只能写 {customer_name} 这样的占位符"
            )
    parsed = []
    try:
        parsed = list(string.Formatter().parse(text))
    except ValueError as exc:
        raise TemplateError(f"模板格式错误：{_syntax_hint(text, exc)}") from None
    unknown: list[str] = []
    for _, name, spec, conversion in parsed:
        if name is None:
            continue
        shown = "{" + name + (f"!{conversion}" if conversion else "") + (f":{spec}" if spec else "") + "}"
        if name == "":
            raise TemplateError(
                "模板格式错误：空的占位符“{}”；请写出名称，如 {customer_name}（要显示花括号请写成“{{}}”）"
            )
        if name not in PLACEHOLDERS:
            unknown.append(shown)
        elif spec or conversion:
            raise TemplateError(f"模板格式错误：占位符 {shown} 不支持格式选项，请写成 {{{name}}}")
    if unknown:
        known = "、".join("{" + k + "}" for k in PLACEHOLDERS)
        raise TemplateError(f"未知占位符：{'、'.join(dict.fromkeys(unknown))}；可用：{known}")


def _substitute(text: str, values: dict[str, Any]) -> str:
    """Fill the plain placeholders of `text`; never looks up attributes or items, never calls anything.

    A stored template that bypassed `validate` (edited in the database, saved before a check existed) still
    renders safely: an unknown or dotted field becomes empty, a format spec is ignored, broken braces are kept
    as typed.
    """
    try:
        parsed = list(string.Formatter().parse(text))
    except ValueError:
        return text[:MAX_RENDERED_LENGTH]
    out: list[str] = []
    size = 0
    for literal, name, _spec, _conversion in parsed:
        piece = literal
        if name is not None and name in PLACEHOLDERS:
            value = values.get(name)
            piece += "" if value is None else str(value)[:MAX_VALUE_LENGTH]
        out.append(piece)
        size += len(piece)
        if size >= MAX_RENDERED_LENGTH:
            break
    return "".join(out)[:MAX_RENDERED_LENGTH]


def render(template: Template, values: dict[str, Any]) -> tuple[str, str]:
    """(subject, body); a placeholder without a value renders as empty rather than failing a whole batch."""
    return _substitute(template.subject, values), _substitute(template.body, values)
