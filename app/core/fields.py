"""Form fields and attribute rendering that produce the same markup as WTForms' own, cheaper.

WTForms' Select widget inspects render_option's signature on every render and builds each <option> through
html_params (sorting and escaping a dict per option): a 27-option category select cost ~0.7 ms of a ~10 ms page.
This one writes plain options directly and hands anything unusual (render_kw, extra attributes, bool values) to
WTForms, so the output is byte-identical (tests/core/test_fields.py compares them).

render_field is the templates' `field` (templates/macros.html): the label, the input, the hint and the errors of one
form field, as the Jinja macro it replaces wrote them, byte for byte (tests/core/test_field_markup.py compares them)."""
from __future__ import annotations

from markupsafe import Markup, escape
from wtforms import SelectField as _SelectField
from wtforms import widgets
from wtforms.fields.core import Field
from wtforms.meta import DefaultMeta
from wtforms.widgets import core as _widgets_core

WTFORMS_HTML_PARAMS = _widgets_core.html_params
_clean_key = _widgets_core.clean_key

_EMPTY, _MIDDLE, _CLOSE = Markup(""), Markup('">'), Markup("</option>")
_OPEN, _OPEN_SELECTED = Markup('<option value="'), Markup('<option selected value="')


class Select(widgets.Select):
    """widgets.Select with a fast path for plain options."""

    @classmethod
    def _dispatch_render_option(cls):
        return cls.render_option  # our signature is the current one: no need to inspect it per render

    @classmethod
    def render_option(cls, choice, **kwargs):
        if kwargs or choice.render_kw or isinstance(choice.value, bool):
            return super().render_option(choice, **kwargs)
        value, label = choice.value, choice.label or choice.value
        if value.__class__ is str and label.__class__ is str:
            # html_params sorts the attributes: "selected" comes before "value"; both texts escaped as escape() does.
            opening = '<option selected value="' if choice.selected else '<option value="'
            # nosemgrep: markup-from-non-literal -- the value and the label are escaped by _escape_text
            return Markup(f'{opening}{_escape_text(value)}">{_escape_text(label)}</option>')  # nosec B704
        # Markup.join escapes the plain parts (a lazy label, a Markup label, a number).
        return _EMPTY.join((_OPEN_SELECTED if choice.selected else _OPEN, value, _MIDDLE, label, _CLOSE))


class SelectField(_SelectField):
    """wtforms.SelectField rendered by the fast Select widget."""

    widget = Select()


def _escape_text(text: str) -> str:
    # markupsafe.escape's replacements for a plain str, without making a Markup object per attribute.
    return (text.replace("&", "&amp;").replace(">", "&gt;").replace("<", "&lt;").replace("'", "&#39;")
            .replace('"', "&#34;"))


_ATTRIBUTE_NAMES: dict[str, str] = {}  # keyword -> attribute name as written (a few dozen names in the code)


def _attribute_name(key: str) -> str:
    name = str(escape(_clean_key(key)))
    if len(_ATTRIBUTE_NAMES) < 512:
        _ATTRIBUTE_NAMES[key] = name
    return name


def html_params(**kwargs) -> Markup:
    """wtforms.widgets.html_params, byte for byte, without a Markup.format (a string.Formatter run) per attribute:
    every input, label and option of every form goes through it (~5 % of a form page's CPU). Plain str and int
    values are escaped as markupsafe.escape does, without a Markup object each; anything else goes through it."""
    parts = []
    for key, value in sorted(kwargs.items()):
        if value is False:
            continue
        name = _ATTRIBUTE_NAMES.get(key) or _attribute_name(key)
        if value is True:
            parts.append(name)
            continue
        kind = value.__class__
        if kind is str:
            text = _escape_text(value)
        elif kind is int:
            text = str(value)
        else:
            # escape() leaves a Markup value as it is: a raw quote in one must still not end the attribute.
            text = str(escape(value)).replace('"', "&quot;")
        parts.append(f'{name}="{text}"')
    # nosemgrep: markup-from-non-literal -- each name and value is escaped just above
    return Markup(" ".join(parts))  # nosec B704


def install_fast_html_params() -> None:
    """Make WTForms' widgets and labels use html_params above (they look it up in wtforms.widgets.core, and Input
    keeps its own reference). Called once from create_app."""
    _widgets_core.html_params = widgets.html_params = html_params
    for cls in vars(_widgets_core).values():  # Input and Button keep a reference of their own
        if isinstance(cls, type) and cls.__dict__.get("html_params") is not None:
            cls.html_params = staticmethod(html_params)


# Input widgets rendered by Input.__call__ alone (text, email, tel, hidden, ...), or after the date inputs' or the
# number input's own step (the classes that neither override further).
_INPUT_STEPS = {widgets.Input.__call__: None, _widgets_core._DateTimeBaseInput.__call__: "date",
                widgets.NumberInput.__call__: "number", widgets.CheckboxInput.__call__: "checkbox",
                widgets.FileInput.__call__: "file"}
_INPUTS = {cls: _INPUT_STEPS[cls.__call__] for cls in vars(_widgets_core).values()
           if isinstance(cls, type) and issubclass(cls, widgets.Input) and cls.__call__ in _INPUT_STEPS}
_FIELD_CALL, _META_RENDER = Field.__call__, DefaultMeta.render_field


def _validation_attrs(field, widget, kwargs: dict, call: bool) -> None:
    # WTForms walks dir(field.flags) (every name of the object, sorted) for these; the flags set are the instance's
    # own attributes (Flags answers None for any other), and html_params sorts the attributes anyway.
    wanted = widget.validation_attrs
    for key, value in vars(field.flags).items():
        if key in wanted and key not in kwargs:
            kwargs[key] = value() if call and callable(value) else value


def render_widget(field, kwargs: dict) -> Markup:
    """field(**kwargs), the same markup: text-like inputs, checkboxes, file inputs and textareas are written here
    (the widget's own steps, without dir() of the flags per render); anything customised goes through WTForms."""
    widget = field.widget
    kind = type(widget)
    if (type(field).__call__ is not _FIELD_CALL or type(field.meta).render_field is not _META_RENDER
            or getattr(field, "_datalist", None) is not None or not (kind in _INPUTS or kind is widgets.TextArea)):
        return field(**kwargs)
    # DefaultMeta.render_field: the field's render_kw, overridden by the call's own keywords (keys cleaned).
    kwargs = {_clean_key(k): v for k, v in kwargs.items()}
    if field.render_kw is not None:
        kwargs = dict({_clean_key(k): v for k, v in field.render_kw.items()}, **kwargs)
    if kind is widgets.TextArea:
        kwargs.setdefault("id", field.id)
        _validation_attrs(field, widget, kwargs, call=False)
        params = html_params(name=field.name, **kwargs)
        # nosemgrep: markup-from-non-literal -- params are escaped by html_params, the text by escape()
        return Markup(f"<textarea {params}>\r\n{escape(field._value())}</textarea>")  # nosec B704
    step = _INPUTS[kind]
    if step == "checkbox":
        if getattr(field, "checked", field.data):
            kwargs.setdefault("checked", True)
    elif step == "file":
        kwargs["value"] = False  # browsers ignore a file input's value
        if widget.multiple:
            kwargs["multiple"] = True
    elif step == "number":
        for attr in ("step", "min", "max"):
            if getattr(widget, attr) is not None:
                kwargs.setdefault(attr, getattr(widget, attr))
    elif step == "date" and getattr(field, "format", None) is not None:
        # min and max given as dates are written in the field's format
        fmt = field.format[0] if isinstance(field.format, list) else field.format
        for attr in ("min", "max"):
            value = kwargs.get(attr, getattr(field.flags, attr, None))
            if callable(value):
                value = value()
            if hasattr(value, "strftime"):
                kwargs[attr] = value.strftime(fmt)
    kwargs.setdefault("id", field.id)
    kwargs.setdefault("type", widget.input_type)
    if "value" not in kwargs:
        kwargs["value"] = field._value()
    _validation_attrs(field, widget, kwargs, call=True)
    # nosemgrep: markup-from-non-literal -- every attribute is escaped by html_params
    return Markup(f"<input {html_params(name=field.name, **kwargs)}>")  # nosec B704


def render_field(f, hint=None, type=None) -> Markup:  # the macro's signature (type was never used)
    """One form field as templates/macros.html's `field` macro wrote it (whitespace included): the label and the
    input (a checkbox inside its label), the hint, and each error with the id that aria-describedby names."""
    errors = f.errors
    parts = ['\n  <div class="field has-error">\n    ' if errors else '\n  <div class="field">\n    ']
    if f.type == "BooleanField":
        parts += ['\n      <label class="check">', render_widget(f, {"aria-invalid": "true" if errors else "false"}),
                  " ", escape(f.label.text), "</label>\n    "]
    else:
        parts += ["\n      ", escape(f.label), "\n      ",
                  render_widget(f, {"aria-invalid": "true", "aria-describedby": f"{f.id}-error"} if errors else {}),
                  "\n    "]
    parts.append("\n    ")
    if hint:
        parts += ['<p class="hint">', escape(hint), "</p>"]
    parts.append("\n    ")
    for error in errors:
        parts += ['<p class="error" id="', escape(f.id), '-error">', escape(error), "</p>"]
    parts.append("\n  </div>\n")
    # nosemgrep: markup-from-non-literal -- the literal markup above and escaped values only
    return Markup("".join(parts))  # nosec B704
