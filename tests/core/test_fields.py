"""The fast Select widget writes exactly what WTForms' own writes, for every kind of option."""
from __future__ import annotations

import pytest
from werkzeug.datastructures import MultiDict
from wtforms import Form
from wtforms import SelectField as StockSelectField
from wtforms.fields.choices import SelectChoice

from app.core.fields import SelectField

CHOICES = [SelectChoice(v, label) for v, label in [
    ("", "不确定（可先咨询）"), ("labour", "劳动争议"), ("a&b", '<script>alert("x")</script>'), ("neighbour", ""),
    ("x y", "带 空格 & 引号\"'")]]


def _pair(choices, data=None, **field_kw):
    class Fast(Form):
        f = SelectField("类型", choices=choices, **field_kw)

    class Stock(Form):
        f = StockSelectField("类型", choices=choices, **field_kw)
    formdata = MultiDict(data) if data else None
    return Fast(formdata).f, Stock(formdata).f


@pytest.mark.parametrize("data", [None, {"f": "labour"}, {"f": "a&b"}, {"f": "unknown"}, {"f": ""}])
def test_plain_choices_render_byte_identical(data):
    fast, stock = _pair(CHOICES, data)
    assert str(fast()) == str(stock())
    assert str(fast(class_="wide", required=True)) == str(stock(class_="wide", required=True))


def test_integer_choices_render_kw_bool_values_and_groups_render_byte_identical():
    ints = [SelectChoice(1, "一"), SelectChoice(2, "二"), SelectChoice(30, "三十")]
    fast, stock = _pair(ints, {"f": "2"}, coerce=int)
    assert str(fast()) == str(stock()) and '<option selected value="2">二</option>' in str(fast())
    with_kw = [SelectChoice("a", "甲", render_kw={"disabled": True}), SelectChoice("b", "乙", render_kw={"data_hint": "x"})]
    fast, stock = _pair(with_kw, {"f": "b"})
    assert str(fast()) == str(stock())
    booleans = [SelectChoice(True, "是"), SelectChoice(False, "否")]
    fast, stock = _pair(booleans, coerce=lambda v: v in (True, "True"))
    assert str(fast()) == str(stock())
    groups = [SelectChoice("family", "婚姻家庭", optgroup="家庭"), SelectChoice("labour", "劳动争议", optgroup="经济"),
              SelectChoice("debt", "借贷", optgroup="经济")]
    fast, stock = _pair(groups, {"f": "debt"})
    assert str(fast()) == str(stock()) and "<optgroup" in str(fast())
