"""Form fields and attribute rendering that produce the same markup as WTForms' own, cheaper.

WTForms' Select widget inspects render_option's signature on every render and builds each <option> through
html_params (sorting and escaping a dict per option): a 27-option category select cost ~0.7 ms of a ~10 ms page.
This one writes plain options directly and hands anything unusual (render_kw, extra attributes, bool values) to
WTForms, so the output is byte-identical (tests/core/test_fields.py compares them)."""
from __future__ import annotations

from markupsafe import Markup, escape
from wtforms import SelectField as _SelectField
from wtforms import widgets
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
        # html_params sorts the attributes: "selected" comes before "value". Markup.join escapes the plain parts.
        return _EMPTY.join((_OPEN_SELECTED if choice.selected else _OPEN, choice.value, _MIDDLE,
                            choice.label or choice.value, _CLOSE))


class SelectField(_SelectField):
    """wtforms.SelectField rendered by the fast Select widget."""

    widget = Select()


def html_params(**kwargs) -> Markup:
    """wtforms.widgets.html_params, byte for byte, without a Markup.format (a string.Formatter run) per attribute:
    every input, label and option of every form goes through it (~5 % of a form page's CPU)."""
    parts = []
    for key, value in sorted(kwargs.items()):
        if value is False:
            continue
        name = str(escape(_clean_key(key)))
        # escape() leaves a Markup value as it is: a raw quote in one must still not end the attribute.
        parts.append(name if value is True else f'{name}="{str(escape(value)).replace(chr(34), "&quot;")}"')
    # nosemgrep: markup-from-non-literal -- each name and value is escaped just above
    return Markup(" ".join(parts))  # nosec B704


def install_fast_html_params() -> None:
    """Make WTForms' widgets and labels use html_params above (they look it up in wtforms.widgets.core, and Input
    keeps its own reference). Called once from create_app."""
    _widgets_core.html_params = widgets.html_params = html_params
    for cls in vars(_widgets_core).values():  # Input and Button keep a reference of their own
        if isinstance(cls, type) and cls.__dict__.get("html_params") is not None:
            cls.html_params = staticmethod(html_params)
