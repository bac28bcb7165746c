"""Audited reveal: staff handling a case see parties' numbers masked; the full number only on an explicit request
with a reason, each one stored as a PiiReveal row that the organisation's admin can read."""
from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa

from app.accounts.models import Role, User
from app.api.models import ApiToken
from app.cases.models import Case, CaseParty
from app.core.errors import DomainError
from app.core.i18n import N_, gettext
from app.extensions import db
from app.privacy import reveal_chain
from app.privacy.reveal_models import API_ROLE, PiiReveal

# What may be revealed: the attribute of CaseParty, its label, the masked form's attribute.
FIELDS = {"phone": (N_("手机号码"), "masked_phone"), "id_number": (N_("证件号码"), "masked_id_number")}
# Why: the reasons a staff member may choose from (PIPL: a specific purpose), each with free text besides.
REASONS = {
    "contact": N_("联系当事人（平台通知未送达）"),
    "identity": N_("核实当事人身份"),
    "service": N_("送达法律文书"),
    "legal": N_("法院、仲裁机构依法调取"),
    "other": N_("其他（请在说明中写明）"),
}
PER_PAGE = 50
# Legal documents (the agreement, the applications for confirmation and arbitration, the civil complaint) print every
# party's full numbers: the law wants them there. A party's download is their own document; anyone else's shows the
# same numbers a reveal would, so it is recorded as reveals, one per number, with this reason and the file's name.
DOCUMENT_REASON = "document"
DOCUMENT_REASON_LABEL = N_("下载载有完整号码的文书")
# The court API's JSON case package (GET /api/v1/cases/<id>) carries every party's full numbers too: each read is
# recorded the same way, under its own reason (it is not a document a person could print or file).
API_PACKAGE_REASON = "api_package"
API_PACKAGE_REASON_LABEL = N_("读取载有完整号码的案件材料")
# Reasons the system writes itself (never offered on the reveal form), with their labels.
SYSTEM_REASONS = {DOCUMENT_REASON: DOCUMENT_REASON_LABEL, API_PACKAGE_REASON: API_PACKAGE_REASON_LABEL}


@dataclass(frozen=True)
class Revealable:
    """One number a staff member may ask to see: its party, field, label and masked form."""

    party: CaseParty
    field: str
    label: str
    masked: str

    @property
    def key(self) -> str:
        return f"{self.party.id}:{self.field}"


def revealable(case: Case) -> list[Revealable]:
    """Every number on the case's parties, masked, in the parties' order."""
    out = []
    for party in sorted(case.parties, key=lambda p: (p.role.value != "applicant", p.id)):
        for field, (label, masked_attr) in FIELDS.items():
            if getattr(party, field):
                out.append(Revealable(party, field, gettext(label), getattr(party, masked_attr)))
    return out


def find(case: Case, key: str | None) -> Revealable | None:
    """The revealable number named by "<party id>:<field>", if the case has it."""
    return next((r for r in revealable(case) if r.key == key), None)


def reveal(case: Case, key: str, user: User, reason_code: str, reason_text: str, ip: str | None) -> str:
    """Record who saw which number of which party, why and from where, at the end of the reveal log's hash chain
    (flush only); return the full number."""
    if not case.can_reveal_numbers(user):
        raise DomainError(gettext("您无权查看当事人的完整号码。"), 403)
    target = find(case, key)
    if target is None:
        raise DomainError(gettext("没有这个号码。"), 404)
    if reason_code not in REASONS or not (reason_text or "").strip():
        raise DomainError(gettext("请选择查看原因并填写说明。"), 422)
    reveal_chain.append(user_id=user.id, role=user.role.value, case_id=case.id, party_id=target.party.id,
                        organisation_id=case.organisation_id, field=target.field, reason_code=reason_code,
                        reason_text=reason_text.strip()[:500], ip=(ip or None) and ip[:45])
    return getattr(target.party, target.field)


def record_document_download(case: Case, user: User, document: str, ip: str | None) -> int:
    """A PDF printing the parties' full numbers was downloaded: unless by a party (or whoever filed for them), one
    reveal row per number the case's parties have, at the end of the chain (flush only). Returns the rows written."""
    if case.is_party(user):
        return 0
    return _record_numbers(case, DOCUMENT_REASON, document, ip, user_id=user.id, role=user.role.value)


def record_api_document_download(case: Case, token: ApiToken, document: str, ip: str | None) -> int:
    """The same for a download through the court API: the court's bearer token saw the numbers (no user), so the
    rows name the token, with the role API_ROLE. Returns the rows written (flush only)."""
    return _record_numbers(case, DOCUMENT_REASON, document, ip, api_token_id=token.id, role=API_ROLE)


def record_api_package_read(case: Case, token: ApiToken, package: str, ip: str | None) -> int:
    """The court API's case package, which returns every party's full phone and ID number, was read by token: one
    row per number returned, reason API_PACKAGE_REASON, `package` naming what was read (flush only)."""
    return _record_numbers(case, API_PACKAGE_REASON, package, ip, api_token_id=token.id, role=API_ROLE)


def _record_numbers(case: Case, reason_code: str, reason_text: str, ip: str | None, **who) -> int:
    targets = revealable(case)
    for target in targets:
        reveal_chain.append(**who, case_id=case.id, party_id=target.party.id, organisation_id=case.organisation_id,
                            field=target.field, reason_code=reason_code, reason_text=reason_text[:500],
                            ip=(ip or None) and ip[:45])
    return len(targets)


def log_query(viewer: User):
    """The reveals viewer may read, newest first: all for the admin; for an organisation's admin, those on the
    organisation's cases and those its own members or (a court's) its API tokens made (e.g. at another body)."""
    stmt = sa.select(PiiReveal).order_by(PiiReveal.created_at.desc(), PiiReveal.id.desc())
    if viewer.role == Role.admin:
        return stmt
    if viewer.role == Role.org_admin and viewer.organisation_id is not None:
        members = sa.select(User.id).where(User.organisation_id == viewer.organisation_id)
        tokens = sa.select(ApiToken.id).where(ApiToken.organisation_id == viewer.organisation_id)
        return stmt.where(sa.or_(PiiReveal.organisation_id == viewer.organisation_id,
                                 PiiReveal.user_id.in_(members), PiiReveal.api_token_id.in_(tokens)))
    return None


@dataclass(frozen=True)
class LogPage:
    rows: list[PiiReveal]
    page: int
    pages: int
    total: int


def log_page(viewer: User, page: int) -> LogPage | None:
    """One page of the reveal log for viewer (None: not theirs to read)."""
    stmt = log_query(viewer)
    if stmt is None:
        return None
    total = db.session.scalar(sa.select(sa.func.count()).select_from(stmt.order_by(None).subquery())) or 0
    pages = max(1, -(-total // PER_PAGE))
    page = min(max(page, 1), pages)
    rows = db.session.scalars(stmt.options(sa.orm.joinedload(PiiReveal.user),
                                           sa.orm.joinedload(PiiReveal.api_token).joinedload(ApiToken.organisation))
                              .limit(PER_PAGE).offset((page - 1) * PER_PAGE)).all()
    return LogPage(list(rows), page, pages, total)


def reason_label(code: str) -> str:
    label = REASONS.get(code) or SYSTEM_REASONS.get(code)
    return gettext(label) if label else code


def field_label(field: str) -> str:
    return gettext(FIELDS[field][0]) if field in FIELDS else field
