from __future__ import annotations

from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from gridcare.core.text import format_duration, format_money, mask_phone


def test_mobile_number_is_masked_in_the_middle() -> None:
    assert mask_phone("13812345678") == "138****5678"
    assert mask_phone("+86 138-1234-5678") == "861****5678"


def test_short_numbers_keep_only_the_last_two_digits() -> None:
    assert mask_phone("95598") == "***98"
    assert mask_phone("") == ""


@given(st.text(alphabet="0123456789", min_size=7, max_size=15))
def test_masked_numbers_never_show_the_middle_digits(digits: str) -> None:
    masked = mask_phone(digits)
    assert masked.startswith(digits[:3]) and masked.endswith(digits[-4:])
    assert "****" in masked and len(masked) == 11


def test_durations_and_money_in_the_screens_style() -> None:
    assert format_duration(12) == "12 分钟"
    assert format_duration(125) == "2 小时 5 分钟"
    assert format_duration(27 * 60) == "1 天 3 小时"
    assert format_money(Decimal("2597.5")) == "¥2,597.50"
