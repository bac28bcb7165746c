"""The clause library (mediation_rules/clauses/*.yaml): loading with clear errors, parameter checking,
rendering.

A clause is a legal text template and a plain-language summary with named parameters of declared types.
Values are checked and formatted here (amounts as "人民币 5,000.00 元（大写：伍仟元整）") and substituted once with
str.format_map, so whatever a party or the mediator typed is never read as a template itself."""
from __future__ import annotations

import functools
import re
import string
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation
from pathlib import Path

import yaml

from app.core.i18n import gettext

PARAM_TYPES = ("party", "money", "date", "int", "text")
PARTY_VALUES = ("applicant", "respondent")
PARTY_LABELS = {"applicant": "申请人", "respondent": "被申请人"}
MAX_AMOUNT = Decimal("100000000")
KEY_RE = re.compile(r"^[a-z][a-z0-9_]{1,39}$")
_CONTROL_RE = re.compile(r"[\x00-\x1f\x7f]")


class ClauseError(Exception):
    """mediation_rules/clauses/ holds something the platform cannot use; the message names the file."""


@dataclass(frozen=True)
class Param:
    name: str
    type: str
    label: str
    hint: str | None = None
    min: int | None = None
    max: int | None = None
    max_length: int = 200


@dataclass(frozen=True)
class Clause:
    key: str
    title: str
    order: int
    text: str
    summary: str
    params: tuple[Param, ...] = ()
    checks: tuple[str, ...] = ()

    def param(self, name: str) -> Param:
        return next(p for p in self.params if p.name == name)


# --- amounts ----------------------------------------------------------------------------------
_DIGITS = "零壹贰叁肆伍陆柒捌玖"
_SMALL_UNITS = ("仟", "佰", "拾", "")
_BIG_UNITS = ("亿", "万", "")


def _four_digits(n: int) -> str:
    """1..9999 in upper-case digits, zeros inside read once: 1005 -> 壹仟零伍, 1050 -> 壹仟零伍拾."""
    out, zero = "", False
    for i, d in enumerate(int(c) for c in f"{n:04d}"):
        if d == 0:
            zero = bool(out)
            continue
        if zero:
            out += "零"
            zero = False
        out += _DIGITS[d] + _SMALL_UNITS[i]
    return out


def rmb_upper(amount: Decimal | int | str) -> str:
    """An amount in yuan in the capital figures used on financial documents: 5000 -> 伍仟元整,
    100010.05 -> 壹拾万零壹拾元零伍分. Up to (not including) one trillion yuan, rounded to the fen."""
    value = Decimal(str(amount)).quantize(Decimal("0.01"))
    if value < 0 or value >= Decimal("1000000000000"):
        raise ValueError(f"amount out of range: {amount}")
    yuan, cents = divmod(int(value * 100), 100)
    jiao, fen = divmod(cents, 10)
    groups = (yuan // 100_000_000, yuan // 10_000 % 10_000, yuan % 10_000)
    out, pending_zero = "", False
    for g, unit in zip(groups, _BIG_UNITS):
        if g == 0:
            pending_zero = pending_zero or bool(out)
            continue
        if out and (pending_zero or g < 1000):
            out += "零"
        out += _four_digits(g) + unit
        pending_zero = False
    if yuan == 0 and cents == 0:
        return "零元整"
    text = out + "元" if yuan else ""
    if cents == 0:
        return text + "整"
    if jiao:
        return text + _DIGITS[jiao] + "角" + (_DIGITS[fen] + "分" if fen else "")
    return text + ("零" if yuan else "") + _DIGITS[fen] + "分"


def money_text(amount: Decimal) -> str:
    """The legal form of an amount: 人民币 5,000.00 元（大写：伍仟元整）."""
    return f"人民币 {amount:,.2f} 元（大写：{rmb_upper(amount)}）"


def money_short(amount: Decimal) -> str:
    return f"{amount:,.2f} 元"


def date_text(value: date) -> str:
    return f"{value.year}年{value.month}月{value.day}日"


# --- loading ----------------------------------------------------------------------------------
def _fields(template: str, where: str) -> set[str]:
    names = set()
    for _, name, spec, conversion in string.Formatter().parse(template):
        if name is None:
            continue
        if not name.isidentifier() or spec or conversion:
            raise ClauseError(f"{where}: placeholder {{{name}}} must be a plain name, like {{amount}}")
        names.add(name)
    return names


def _param(name: str, raw, where: str) -> Param:
    if not isinstance(raw, dict) or raw.get("type") not in PARAM_TYPES:
        raise ClauseError(f"{where}: parameter {name!r} needs a type, one of {', '.join(PARAM_TYPES)}")
    if not name.isidentifier() or not raw.get("label"):
        raise ClauseError(f"{where}: parameter {name!r} needs a plain name and a label")
    unknown = set(raw) - {"type", "label", "hint", "min", "max", "max_length"}
    if unknown:
        raise ClauseError(f"{where}: parameter {name!r} has unknown fields: {', '.join(sorted(unknown))}")
    if raw["type"] == "int" and not (isinstance(raw.get("min"), int) and isinstance(raw.get("max"), int)):
        raise ClauseError(f"{where}: int parameter {name!r} needs whole-number min and max")
    return Param(name=name, type=raw["type"], label=str(raw["label"]), hint=raw.get("hint"),
                 min=raw.get("min"), max=raw.get("max"), max_length=int(raw.get("max_length", 200)))


def _clause(path: Path) -> Clause:
    where = f"mediation_rules/clauses/{path.name}"
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise ClauseError(f"{where}: not valid YAML: {exc}") from None
    if not isinstance(raw, dict):
        raise ClauseError(f"{where}: expected a mapping with key, title, text, summary, params")
    missing = [k for k in ("key", "title", "order", "text", "summary") if raw.get(k) in (None, "")]
    if missing:
        raise ClauseError(f"{where}: missing {', '.join(missing)}")
    unknown = set(raw) - {"key", "title", "order", "text", "summary", "params", "checks"}
    if unknown:
        raise ClauseError(f"{where}: unknown fields: {', '.join(sorted(unknown))}")
    if not KEY_RE.match(str(raw["key"])) or raw["key"] != path.stem:
        raise ClauseError(f"{where}: key {raw['key']!r} must be lower-case letters/digits/_ "
                          "and equal the file name")
    params = tuple(_param(n, p, where) for n, p in (raw.get("params") or {}).items())
    declared = {p.name for p in params}
    for part in ("text", "summary"):
        undeclared = _fields(str(raw[part]), f"{where} {part}") - declared
        if undeclared:
            raise ClauseError(f"{where}: {part} uses undeclared parameters: {', '.join(sorted(undeclared))}")
    checks = tuple(raw.get("checks") or ())
    bad = [c for c in checks if c not in CHECKS]
    if bad:
        raise ClauseError(f"{where}: unknown checks: {', '.join(bad)} (known: {', '.join(CHECKS)})")
    return Clause(key=raw["key"], title=str(raw["title"]), order=int(raw["order"]),
                  text=str(raw["text"]).strip(), summary=str(raw["summary"]).strip(), params=params,
                  checks=checks)


@functools.lru_cache(maxsize=4)
def load_clauses(folder: str) -> dict[str, Clause]:
    """Every clause in the folder by key, in their order; ClauseError names the first bad file."""
    paths = sorted(Path(folder).glob("*.yaml"))
    if not paths:
        raise ClauseError(f"{folder}: no clause files (*.yaml)")
    clauses = sorted((_clause(p) for p in paths), key=lambda c: (c.order, c.key))
    return {c.key: c for c in clauses}


def library() -> dict[str, Clause]:
    """The running app's clauses (RULES_DIR/clauses)."""
    from flask import current_app

    return load_clauses(str(Path(current_app.config["RULES_DIR"]) / "clauses"))


# --- checking values --------------------------------------------------------------------------
def _money(raw: str) -> Decimal:
    try:
        value = Decimal(raw.replace(",", "").replace("，", "").replace("元", "").strip())
    except InvalidOperation:
        raise ValueError(gettext("金额请填写数字，例如 5000 或 5000.50。")) from None
    if not value.is_finite() or value <= 0 or value >= MAX_AMOUNT:
        raise ValueError(gettext("金额应大于 0 且小于 1 亿元。"))
    if value.as_tuple().exponent < -2:
        raise ValueError(gettext("金额最多保留两位小数。"))
    return value.quantize(Decimal("0.01"))


def _one(param: Param, raw: str):
    """The typed value of one parameter, or ValueError with a Chinese message for the field."""
    raw = (raw or "").strip()
    if not raw:
        raise ValueError(gettext("请填写%(label)s。", label=param.label))
    if param.type == "party":
        if raw not in PARTY_VALUES:
            raise ValueError(gettext("请选择申请人或被申请人。"))
        return raw
    if param.type == "money":
        return _money(raw)
    if param.type == "date":
        try:
            return date.fromisoformat(raw)
        except ValueError:
            raise ValueError(gettext("日期请按“年-月-日”填写，例如 2026-12-31。")) from None
    if param.type == "int":
        if not raw.isdigit() or not param.min <= int(raw) <= param.max:
            raise ValueError(gettext("请填写 %(min)s 到 %(max)s 之间的整数。", min=param.min, max=param.max))
        return int(raw)
    text = " ".join(raw.split())
    if _CONTROL_RE.search(text) or len(text) > param.max_length:
        raise ValueError(gettext("最多 %(n)s 个字符，且只能写一行。", n=param.max_length))
    return text


def _different_parties(v: dict) -> dict[str, str]:
    parties = [v[name] for name in v if isinstance(v[name], str) and v[name] in PARTY_VALUES]
    if len(parties) == 2 and parties[0] == parties[1]:
        name = [n for n in v if v[n] in PARTY_VALUES][1]
        return {name: gettext("双方不能是同一方，请重新选择。")}
    return {}


def _instalments_add_up(v: dict) -> dict[str, str]:
    n, per, total = v.get("instalments"), v.get("per_instalment"), v.get("amount")
    if None in (n, per, total):
        return {}
    if per * n < total or per * (n - 1) >= total:
        return {"per_instalment": gettext("每期金额 × 期数应不少于总金额，且前 %(m)s 期不能已付清总金额。", m=n - 1)}
    return {}


def _dates_in_order(v: dict) -> dict[str, str]:
    first, last = v.get("first_date"), v.get("last_date")
    if first and last and last < first:
        return {"last_date": gettext("最后付清日期不能早于第一期付款日。")}
    return {}


CHECKS = {"different_parties": _different_parties, "instalments_add_up": _instalments_add_up,
          "dates_in_order": _dates_in_order}


def check_params(clause: Clause, raw: dict) -> tuple[dict, dict[str, str]]:
    """(values, errors) by name: each declared parameter from its raw string, then the clause's checks."""
    values, errors = {}, {}
    for param in clause.params:
        try:
            values[param.name] = _one(param, str(raw.get(param.name) or ""))
        except ValueError as exc:
            errors[param.name] = str(exc)
    if not errors:
        for check in clause.checks:
            errors.update(CHECKS[check](values))
    return values, errors


def stored_params(values: dict) -> dict[str, str | int]:
    """Values as plain JSON: amounts and dates as strings, so the content hash is stable."""
    out = {}
    for name, value in values.items():
        out[name] = f"{value:.2f}" if isinstance(value, Decimal) else (
            value.isoformat() if isinstance(value, date) else value)
    return out


# --- rendering ---------------------------------------------------------------------------------
@dataclass
class Rendered:
    text: str
    summary: str
    errors: dict[str, str] = field(default_factory=dict)


def _display(param: Param, value, names: dict[str, str], plain: bool) -> str:
    if param.type == "party":
        if plain:
            return names.get(value) or PARTY_LABELS[value]
        return PARTY_LABELS[value] + names.get(value, "")
    if param.type == "money":
        return money_short(value) if plain else money_text(value)
    if param.type == "date":
        return date_text(value)
    return str(value)


def render(clause: Clause, raw: dict, names: dict[str, str]) -> Rendered:
    """The clause's legal text and summary with these parameters. names: {"applicant": "王秀英", ...} (names
    joined with 、 when a side has several). Bad parameters: empty texts and the errors by parameter."""
    values, errors = check_params(clause, raw)
    if errors:
        return Rendered("", "", errors)
    legal = {p.name: _display(p, values[p.name], names, plain=False) for p in clause.params}
    plain = {p.name: _display(p, values[p.name], names, plain=True) for p in clause.params}
    return Rendered(clause.text.format_map(legal), clause.summary.format_map(plain))
