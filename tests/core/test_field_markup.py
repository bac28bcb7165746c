"""templates/macros.html's `field` is app/core/fields.py render_field, written in Python: it must write exactly what
the Jinja macro wrote (kept below as it was), for every field of every form of the app and for odd values, hints
and errors; and a form page shows its fields, hints and errors to the user as before."""
from __future__ import annotations

from contextlib import contextmanager
from datetime import date

import pytest
from flask_wtf import FlaskForm
from hypothesis import given, settings
from hypothesis import strategies as st
from markupsafe import Markup
from werkzeug.datastructures import MultiDict
from wtforms import (
    BooleanField,
    DateField,
    DecimalField,
    EmailField,
    FileField,
    Form,
    HiddenField,
    IntegerField,
    PasswordField,
    StringField,
    TelField,
    TextAreaField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, NumberRange, Optional, Regexp

from app.core.fields import WTFORMS_HTML_PARAMS, SelectField, render_field
from app.core.fields import Select as FastSelect
from app.core.i18n import lazy_gettext

# The macro as templates/macros.html defined it before render_field replaced it (whitespace included).
MACRO = """{% macro field(f, hint=None, type=None) %}
  <div class="field{% if f.errors %} has-error{% endif %}">
    {% if f.type == 'BooleanField' %}
      <label class="check">{{ f(**{'aria-invalid': 'true' if f.errors else 'false'}) }} {{ f.label.text }}</label>
    {% else %}
      {{ f.label }}
      {{ f(**({'aria-invalid': 'true', 'aria-describedby': f.id ~ '-error'} if f.errors else {})) }}
    {% endif %}
    {% if hint %}<p class="hint">{{ hint }}</p>{% endif %}
    {% for e in f.errors %}<p class="error" id="{{ f.id }}-error">{{ e }}</p>{% endfor %}
  </div>
{% endmacro %}"""
ODD = '他说"不行" <b>&amp; \'x\''
HINTS = [None, "", "写清时间、地点", ODD, Markup('<a href="/help">说明</a> &amp; 更多'), lazy_gettext("至少 10 个字符")]


@contextmanager
def stock_wtforms():
    """WTForms' own attribute and option rendering (create_app installs the faster ones of app/core/fields.py),
    so that the macro's output is WTForms' and not a copy of the code under test."""
    from wtforms import widgets
    from wtforms.widgets import core

    saved = {cls: cls.__dict__["html_params"] for cls in vars(core).values()
             if isinstance(cls, type) and "html_params" in cls.__dict__}
    fast, fast_option = core.html_params, FastSelect.__dict__["render_option"]
    core.html_params = widgets.html_params = WTFORMS_HTML_PARAMS
    for cls in saved:
        cls.html_params = staticmethod(WTFORMS_HTML_PARAMS)
    FastSelect.render_option = classmethod(widgets.Select.render_option.__func__)
    try:
        yield
    finally:
        core.html_params = widgets.html_params = fast
        for cls, method in saved.items():
            cls.html_params = method
        FastSelect.render_option = fast_option


def _stock_macro(field_macro):
    def render(field, hint=None):
        with stock_wtforms():
            return field_macro(field, hint)
    return render


@pytest.fixture()
def macro(app):
    with app.test_request_context("/"):
        yield _stock_macro(app.jinja_env.from_string(MACRO).module.field)


def _fields(form):
    for field in form:
        if field.type == "FormField":
            yield from _fields(field.form)
        elif field.type == "FieldList":
            for entry in field:
                yield from (_fields(entry.form) if entry.type == "FormField" else [entry])
        else:
            yield field


def _same(macro, field, hint=None):
    try:
        expected = str(macro(field, hint))
    except Exception as exc:  # noqa: BLE001 (a field the macro cannot render must fail the same way)
        with pytest.raises(type(exc)):
            render_field(field, hint)
        return
    got = render_field(field, hint)
    assert type(got) is Markup
    assert str(got) == expected, field.name


def _form_classes():
    """The app's forms (create_app has imported every blueprint, and with it every form)."""
    seen, todo = [], list(FlaskForm.__subclasses__())
    while todo:
        cls = todo.pop()
        seen.append(cls)
        todo.extend(cls.__subclasses__())
    return sorted({c for c in seen if c.__module__.startswith("app.")}, key=lambda c: (c.__module__, c.__name__))


def _build(cls, formdata=None):
    """The form with formdata, trying the keyword arguments the app's forms take."""
    for kwargs in ({}, {"category_choices": [("labour", "劳动争议"), ("a&b", ODD)]}, {"on_behalf": True},
                   {"on_behalf": False}):
        try:
            return cls(formdata=formdata, meta={"csrf": False}, **kwargs)
        except TypeError:
            continue
    return None


def test_every_field_of_every_form_renders_as_the_macro_did(app, macro):
    """Empty, then filled with odd text (quotes, markup, ampersands) and validated: with values and errors."""
    rendered = set()
    for cls in _form_classes():
        empty = _build(cls)
        if empty is None:
            continue
        odd = MultiDict({f.name: ODD for f in _fields(empty)})
        for form in (empty, _build(cls, odd), _build(cls, MultiDict({f.name: "" for f in _fields(empty)}))):
            form.validate()
            for field in _fields(form):
                for hint in HINTS:
                    _same(macro, field, hint)
                rendered.add((cls.__name__, field.type))
    # the wizard, the case form, login and the escalation forms, with their text, date, select and checkbox fields
    kinds = {kind for _cls, kind in rendered}
    assert {"StringField", "TextAreaField", "DateField", "DecimalField", "SelectField", "BooleanField",
            "HiddenField", "FileField", "PasswordField", "EmailField"} <= kinds, kinds
    assert {"WhatHappenedForm", "CategoryForm", "PartiesForm", "EvidenceStepForm", "ReviewForm", "LoginForm",
            "CaseForm"} <= {cls for cls, _kind in rendered}


class MaxLengthLater:
    """A validator whose flag is a callable: inputs call it, textareas write it as it is (as WTForms does)."""

    field_flags = {"maxlength": lambda: 5}  # read by WTForms as a class attribute

    def __call__(self, form, field) -> None:
        pass


class Odd(Form):
    later = StringField("稍后", validators=[MaxLengthLater()])
    later_area = TextAreaField("稍后", validators=[MaxLengthLater()])
    text = StringField("标题 <i>", validators=[DataRequired(), Length(min=2, max=120)],
                       render_kw={"placeholder": ODD, "data_hint": "x", "autocomplete": "off"})
    body = TextAreaField(lazy_gettext("发生了什么"), validators=[Length(max=2000)], render_kw={"rows": 4})
    when = DateField("日期", validators=[Optional()], render_kw={"max": date(2026, 5, 1)})
    when_text_max = DateField("日期", format="%Y/%m/%d", render_kw={"max": "2026-05-01", "min": date(2020, 1, 2)})
    amount = DecimalField("金额", places=2, validators=[Optional(), NumberRange(min=0, max=10**11)])
    amount_kw = DecimalField("金额", render_kw={"step": "0.01", "min": "-1"}, validators=[NumberRange(min=0)])
    count = IntegerField("份数", validators=[NumberRange(min=1)])
    agreed = BooleanField("同意 & 确认", validators=[DataRequired()])
    agreed_kw = BooleanField("已读", render_kw={"class": "big", "checked": False})
    secret = PasswordField("密码", validators=[DataRequired()])
    email = EmailField("邮箱", validators=[Optional()])
    phone = TelField("电话", validators=[Regexp(r"^\d+$")], render_kw={"inputmode": "tel"})
    version = HiddenField()
    upload = FileField("文件", render_kw={"accept": ".pdf"})
    kind = SelectField("类型", choices=[SelectChoice("", "不确定"), SelectChoice("a&b", ODD), SelectChoice("x", "乙")])


NAMES = ["later", "later_area", "text", "body", "when", "when_text_max", "amount", "amount_kw", "count", "agreed", "agreed_kw", "secret", "email", "phone",
         "version", "upload", "kind"]


VALUE = st.one_of(st.text(max_size=12), st.sampled_from([ODD, "2026-05-01", "12.5", "-3", "y", "", "abc", "0"]))
ERRORS = st.lists(st.one_of(st.text(max_size=8), st.sampled_from([ODD, "请填写"]), st.just(Markup("<b>粗</b>"))),
                  max_size=2)


@settings(max_examples=150, deadline=None)
@given(data=st.dictionaries(st.sampled_from(NAMES), VALUE, max_size=8),
       errors=st.dictionaries(st.sampled_from(NAMES), ERRORS, max_size=4),
       hint=st.sampled_from(HINTS), validate=st.booleans())
def test_odd_fields_values_and_errors_render_as_the_macro_did(app, data, errors, hint, validate):
    with app.test_request_context("/"):
        field_macro = _stock_macro(app.jinja_env.from_string(MACRO).module.field)
        form = Odd(MultiDict(data))
        if validate:
            form.validate()
        for name, messages in errors.items():
            form[name].errors = list(form[name].errors) + messages
        for field in form:
            _same(field_macro, field, hint)


def test_customised_rendering_still_goes_through_wtforms(app, macro):
    """A field with its own __call__ or widget is rendered by WTForms, as the macro had it."""
    from wtforms import widgets

    class Shouting(StringField):
        def __call__(self, **kwargs):
            return Markup("<input name=\"loud\">")

    class F(Form):
        loud = Shouting("大声")
        area = StringField("多行", widget=widgets.TextArea())
        radio = StringField("单选", widget=widgets.RadioInput())
        listed = StringField("候选", datalist="towns")  # a <datalist> given by its id

    form = F()
    for field in form:
        for hint in HINTS:
            _same(macro, field, hint)


def test_a_form_page_shows_its_fields_hints_and_errors(app, demo, make_web):
    web = make_web()
    web.login("resident1")
    page = web.get("/cases/new").get_data(as_text=True)
    assert '<label for="title">纠纷标题</label>' in page
    assert '<p class="hint">写清时间、地点、人物和经过。</p>' in page
    assert '<input id="began_on" max="' in page and 'type="date"' in page
    bad = web.post("/cases/new", {"title": "", "description": "短"}, page="/cases/new")
    body = bad.get_data(as_text=True)
    assert bad.status_code == 422
    assert '<div class="field has-error">' in body
    assert 'aria-describedby="title-error" aria-invalid="true" id="title"' in body
    assert '<p class="error" id="title-error">' in body and '<p class="error" id="description-error">' in body
    assert ">\r\n短</textarea>" in body  # what the resident typed is still there
