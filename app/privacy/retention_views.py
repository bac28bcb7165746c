"""Pages of a purged case: the case page says so (a notice above the skeleton that stays); every other page of the
case (documents, evidence, PDFs, forms) answers 410 Gone with a message, to those who may see the case."""
from __future__ import annotations

from flask import Blueprint, abort, g, request
from flask_login import current_user

from app.core.i18n import gettext
from app.extensions import db
from app.privacy.retention_rules import ENDED_STATES

bp = Blueprint("retention", __name__)

# Pages still shown for a purged case: the case page itself (with its notice).
SHOWN_WHEN_PURGED = {"cases.view_case"}
_ENDED_STAGES = {stage for stage, _status in ENDED_STATES}


@bp.before_app_request
def purged_case_pages_are_gone():
    case_id = (request.view_args or {}).get("case_id")
    if case_id is None or request.endpoint in SHOWN_WHEN_PURGED or request.endpoint is None:
        return None
    from app.cases.models import Case
    from app.privacy.retention import purged_at

    # The view loads the case anyway (the identity map hands it this same row): only a case in an end state can
    # have been purged, so the purge record is looked up for those alone, not on every page of every open case.
    # The identity map holds objects weakly: g keeps this one alive until the view asks, or it would be read twice.
    case = g.retention_case = db.session.get(Case, case_id)
    if case is None or case.stage.value not in _ENDED_STAGES or purged_at(case_id) is None:
        return None
    # Whoever may not see the case learns nothing here: the view answers them as it always does (login, 404).
    if not current_user.is_authenticated or not case.can_view(current_user):
        return None
    abort(410, description=gettext("此案件已结案且超过个人信息保存期限，当事人信息、证据和文书已按规定清除。"))


@bp.app_context_processor
def purge_helpers():
    from app.privacy.retention import purged_at

    return {"case_purged_at": purged_at}
