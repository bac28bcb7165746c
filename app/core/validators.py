"""Checks for Chinese identifiers: resident ID numbers (GB 11643) and mobile phone numbers."""
from __future__ import annotations

import re
from datetime import date

from app.core.i18n import gettext
from app.core.time import beijing_today

_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_CHECK_CHARS = "10X98765432"
PHONE_RE = re.compile(r"^1[3-9]\d{9}$")
# Deliberately simple (email_validator is not installed): one @, no spaces, a dot in the domain.
EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s.]+$")


def id_number_error(value: str) -> str | None:
    """None when value is a valid 18-digit resident ID number, else the reason (in the request's language)."""
    v = value.strip().upper()
    if not re.fullmatch(r"\d{17}[\dX]", v):
        return gettext("身份证号码应为 18 位，前 17 位为数字，最后一位为数字或 X。")
    try:
        born = date(int(v[6:10]), int(v[10:12]), int(v[12:14]))
    except ValueError:
        return gettext("身份证号码中的出生日期无效。")
    if born > beijing_today() or born.year < 1900:
        return gettext("身份证号码中的出生日期无效。")
    expected = _CHECK_CHARS[sum(int(d) * w for d, w in zip(v[:17], _WEIGHTS)) % 11]
    if v[17] != expected:
        return gettext("身份证号码校验位不正确，请核对后重新输入。")
    return None


def phone_error(value: str) -> str | None:
    """None for an 11-digit mainland mobile number, else the reason (in the request's language)."""
    if not PHONE_RE.match(value.strip()):
        return gettext("请输入有效的 11 位手机号码，例如 13800138000。")
    return None


def email_error(value: str) -> str | None:
    """None for a plausible e-mail address (at most 120 characters), else the reason (request's language)."""
    v = value.strip()
    if len(v) > 120 or not EMAIL_RE.match(v):
        return gettext("请输入有效的电子邮箱地址，例如 name@example.com。")
    return None
