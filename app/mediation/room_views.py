"""The session room page. Its live part runs over Socket.IO (room_events.py); this view only checks who asks and
renders the shell, which the script fills from the socket's "state" event."""
from __future__ import annotations

from flask import Blueprint, abort, current_app, render_template
from flask_login import current_user, login_required

from app.cases.views import load_case
from app.core.errors import DomainError
from app.core.i18n import gettext
from app.mediation import room as ops
from app.mediation import room_events  # noqa: F401  (registers the Socket.IO handlers)
from app.mediation.offers import PARTY_SIDES

bp = Blueprint("room", __name__)


@bp.route("/cases/<int:case_id>/room")
@login_required
def room_page(case_id: int):
    case = load_case(case_id)
    who = ops.participant(case, current_user)
    if who is None:
        abort(403)
    if not ops.room_started(case):
        raise DomainError(gettext("调解员接案后才能进入调解室。"), 409)
    return render_template("mediation/room.html", case=case, who=who, party_sides=PARTY_SIDES,
                           evidence=case.evidence, open=ops.room_open(case), hearing=ops.hearing_phase(case),
                           ice_servers=current_app.config.get("ICE_SERVERS", []))


@bp.app_template_global()
def room_participant(case, user) -> bool:
    """For the case page's panel: whether the room exists and the user takes part in it."""
    return ops.room_started(case) and ops.takes_part(case, user)
