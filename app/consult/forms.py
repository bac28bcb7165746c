"""The question form of /consult. Its CSRF token is checked by the view (csrf.protect, referrer included) rather
than by the global hook, so that a stale token shows the page again with the question kept and the message by
the field, instead of the generic 400 page that would lose what the person typed."""
from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import TextAreaField
from wtforms.validators import DataRequired, Length

from app.core.i18n import lazy_gettext

MAX_TYPED_CHARS = 2000  # what the box takes; retrieval and the stored question use the first 500


class ConsultForm(FlaskForm):
    class Meta:
        csrf = False  # checked by the view: see the module's docstring

    q = TextAreaField(lazy_gettext("您遇到了什么问题？"), validators=[
        DataRequired(lazy_gettext("请先用自己的话写下遇到的问题。")),
        Length(max=MAX_TYPED_CHARS, message=lazy_gettext("问题最多 %(max)d 个字，请删减一些再提问。")),
    ])
