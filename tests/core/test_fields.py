"""The fast Select widget writes exactly what WTForms' own writes, for every kind of option."""
from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from markupsafe import Markup
from werkzeug.datastructures import MultiDict
from wtforms import Form
from wtforms import SelectField as StockSelectField
from wtforms.fields.choices import SelectChoice

from app.core.fields import WTFORMS_HTML_PARAMS, SelectField, html_params

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


# --- html_params: WTForms' attribute rendering, replaced by a faster one with the same output -----------------------
KEYS = st.sampled_from(["name", "id", "class_", "for_", "data_hint", "aria_describedby", "aria-invalid", "type",
                        "value", "required", "disabled", "maxlength", "autocomplete", "placeholder", "x<y", 'q"'])
VALUES = st.one_of(st.booleans(), st.integers(-5, 10**6), st.none(), st.text(max_size=30),
                   st.sampled_from(['a"b', "<script>", "&amp;", "'", "居民 & 网格员"]),
                   st.text(max_size=10).map(Markup), st.just(Markup('x"y')))


@settings(max_examples=400, deadline=None)
@given(st.dictionaries(KEYS, VALUES, max_size=6))
def test_html_params_equals_wtforms(params):
    assert html_params(**params) == WTFORMS_HTML_PARAMS(**params)
    assert type(html_params(**params)) is Markup


def test_forms_render_through_the_fast_html_params_once_the_app_is_built(app):
    from wtforms import StringField
    from wtforms import widgets as wtforms_widgets

    assert wtforms_widgets.html_params is html_params and wtforms_widgets.Input.html_params is html_params

    class F(Form):
        title = StringField("标题", render_kw={"maxlength": 200})
    field = F(MultiDict({"title": '他说"不行" <b>'})).title
    assert str(field(aria_invalid="true")) == ('<input aria-invalid="true" id="title" maxlength="200" name="title" '
                                               'type="text" value="他说&#34;不行&#34; &lt;b&gt;">')
    assert str(field.label) == '<label for="title">标题</label>'
