"""Enums whose members carry a Chinese and an English label."""
from __future__ import annotations

import enum

import sqlalchemy as sa

from app.core.i18n import request_locale


class LabelledEnum(str, enum.Enum):
    """A string enum; each member is declared as (value, zh label, en label)."""

    def __new__(cls, value: str, zh: str, en: str):
        obj = str.__new__(cls, value)
        obj._value_ = value
        obj.zh = zh
        obj.en = en
        return obj

    @property
    def label(self) -> str:
        """The label in the current request's language (Chinese outside a request)."""
        locale = request_locale()
        if locale is not None and locale.language == "en":
            return self.en
        return self.zh

    def __str__(self) -> str:
        return self.value

    @classmethod
    def choices(cls) -> list[tuple[str, str]]:
        return [(m.value, m.label) for m in cls]


def enum_column(enum_cls: type[enum.Enum], name: str) -> sa.Enum:
    """A portable Enum column type: VARCHAR plus a named CHECK constraint, storing the values."""
    return sa.Enum(
        enum_cls,
        name=name,
        native_enum=False,
        create_constraint=True,
        length=32,
        values_callable=lambda e: [m.value for m in e],
        validate_strings=True,
    )


def select_choices(pairs) -> list:
    """WTForms SelectChoice objects from (value, label) pairs (tuples are deprecated in WTForms 3.3)."""
    from wtforms.fields.choices import SelectChoice

    return [SelectChoice(str(value), label) for value, label in pairs]
