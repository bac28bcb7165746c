"""The arbitral award (裁决书): the case's arbitrator drafts it once the application is accepted, then issues it
in one operation (number, content hash, PDF rendered and signed with the body's key, stored, the funnel step
issue_award). Issued awards never change: the operations refuse, and an ORM guard refuses any flush that
would.
Operations flush, never commit.

Who is the case's arbitrator: case.arbitrator_id when set (on acceptance, or by the first draft), else any
arbitrator of the case's arbitration body."""
from __future__ import annotations

import hashlib
import json
import logging
import re
from dataclasses import dataclass, field
from datetime import date

import sqlalchemy as sa
from sqlalchemy.orm import Session

from app.accounts.models import Organisation, Role, User
from app.cases import funnel
from app.cases import operations as case_operations
from app.cases.models import Case, CaseStatus, Stage
from app.cases.rules import Rules
from app.core.errors import DomainError, TransitionRefused
from app.core.i18n import N_, gettext
from app.core.storage import storage
from app.core.time import day_start_utc, utcnow
from app.documents import Document
from app.escalation.award_rules import AwardRules
from app.escalation.models import Award
from app.extensions import db

log = logging.getLogger(__name__)
TEMPLATE = "documents/arbitration_award.html"
DOCUMENT_KIND = "arbitration_award"
FROZEN_MESSAGE = N_("裁决书已签发，不能再修改或重新签发。")
RENDER_FAILED = N_("裁决书 PDF 生成或数字签名失败，裁决书未签发，案件状态未改变。请稍后重试；如仍失败，请联系管理员。")
LIMITS = {"claims": 5000, "findings": 20000, "reasoning": 20000, "decision": 5000}
ITEM_NUMBER_RE = re.compile(r"^\s*(?:[（(][一二三四五六七八九十\d]{1,3}[)）]|[一二三四五六七八九十\d]{1,3}[、.．:：])\s*")


class AwardFrozen(DomainError):
    """An issued award does not change."""

    status_code = 409


class AwardInvalid(DomainError):
    """The draft has errors; `errors` maps each field to its message."""

    status_code = 422

    def __init__(self, errors: dict[str, str]):
        super().__init__(gettext("裁决书草稿未保存：请查看标红的项目。"))
        self.errors = errors


class AwardIssueFailed(DomainError):
    """Rendering or signing failed: nothing was issued."""

    status_code = 409


@dataclass
class AwardInput:
    claims: str = ""
    findings: str = ""
    reasoning: str = ""
    decision: str = ""
    errors: dict[str, str] = field(default_factory=dict)


def _frozen_message() -> str:
    try:
        return gettext(FROZEN_MESSAGE)
    except (RuntimeError, KeyError):  # no app or request context (a script): the Chinese original
        return FROZEN_MESSAGE


# --- who and when -------------------------------------------------------------------------------------
def is_case_arbitrator(case: Case, user: User) -> bool:
    """An arbitrator of the case's body, and the one who took the case when that is recorded."""
    if not user.is_authenticated or user.role != Role.arbitrator or case.arbitration_body_id is None:
        return False
    if user.organisation_id != case.arbitration_body_id:
        return False
    return case.arbitrator_id is None or case.arbitrator_id == user.id


def may_have_award(case: Case) -> bool:
    """Whether the case has reached arbitration (the only stage where an award is drafted) or gone on from it: the
    funnel never leads back from arbitration to assessment or mediation, so a case there has no award to look up."""
    return case.stage in (Stage.arbitrate, Stage.litigate, Stage.closed)


def in_hearing(case: Case) -> bool:
    """Accepted and not yet decided: the only time an award is drafted or issued."""
    return case.stage == Stage.arbitrate and case.status == CaseStatus.accepted


def current_award(case: Case) -> Award | None:
    return db.session.scalar(sa.select(Award).where(Award.case_id == case.id))


def require_drafter(case: Case, user: User) -> None:
    """403 for anyone but the case's arbitrator; 409 when the award cannot be drafted now."""
    if not is_case_arbitrator(case, user):
        raise DomainError(gettext("只有本案仲裁员可以起草和签发裁决书。"), 403)
    award = current_award(case)
    if award is not None and award.status == "issued":
        raise AwardFrozen(_frozen_message())
    if not in_hearing(case):
        raise DomainError(gettext("仲裁申请受理后、作出裁决前才能起草裁决书（案件当前：%(stage)s·%(status)s）。",
                                  stage=case.stage.label, status=case.status.label), 409)


# --- drafting ------------------------------------------------------------------------------------------
def decision_items(text: str | None) -> list[str]:
    """The decision's items, one per line, without numbering typed in front (the document numbers them)."""
    items = []
    for line in (text or "").splitlines():
        line = ITEM_NUMBER_RE.sub("", line.strip(), count=1).strip()
        if line:
            items.append(line)
    return items


def start(case: Case) -> AwardInput:
    """The editor's fields: the saved draft, else prefilled from the case (claims and facts as filed)."""
    award = current_award(case)
    if award is not None:
        return AwardInput(award.claims, award.findings, award.reasoning, award.decision)
    claims = (case.desired_outcome or "").strip()
    if case.amount is not None:
        amount = gettext("涉案金额：人民币%(amount)s元。", amount=f"{case.amount:,.2f}")
        claims = f"{claims}\n{amount}".strip()
    return AwardInput(claims=claims, findings=(case.description or "").strip())


def validate(data: AwardInput) -> dict[str, str]:
    """Field -> message for every problem (empty when the draft may be saved)."""
    errors = {}
    required = {"claims": gettext("请填写申请人的仲裁请求。"), "findings": gettext("请填写经审理查明的事实。"),
                "reasoning": gettext("请写明仲裁庭的意见和理由（本委认为）。")}
    for name, message in required.items():
        if not getattr(data, name).strip():
            errors[name] = message
    if not decision_items(data.decision):
        errors["decision"] = gettext("请至少填写一项裁决内容（每行一项）。")
    for name, limit in LIMITS.items():
        if len(getattr(data, name)) > limit and name not in errors:
            errors[name] = gettext("最多 %(n)s 个字符。", n=limit)
    return errors


def save_draft(case: Case, user: User, data: AwardInput) -> Award:
    """Create or update the draft; the first draft records who the case's arbitrator is."""
    require_drafter(case, user)
    errors = validate(data)
    if errors:
        raise AwardInvalid(errors)
    if case.arbitrator_id is None:
        case.arbitrator_id = user.id
    award = current_award(case)
    if award is None:
        award = Award(case_id=case.id, body_id=case.arbitration_body_id, arbitrator_id=user.id,
                      status="draft")
        db.session.add(award)
    award.claims, award.findings = data.claims.strip(), data.findings.strip()
    award.reasoning = data.reasoning.strip()
    award.decision = "\n".join(decision_items(data.decision))
    award.updated_at = utcnow()
    db.session.flush()
    return award


def draft_hash(award: Award) -> str:
    """What the arbitrator read before issuing: the issue form carries it, so a changed draft is refused."""
    return _sha256({"claims": award.claims, "findings": award.findings, "reasoning": award.reasoning,
                    "decision": award.decision})


def _sha256(content: dict) -> str:
    text = json.dumps(content, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


# --- issuing -------------------------------------------------------------------------------------------
def beijing_year_bounds(year: int):
    """[start, end) of a Beijing calendar year as naive UTC datetimes (how the database stores time)."""
    return day_start_utc(date(year, 1, 1)), day_start_utc(date(year + 1, 1, 1))


def next_number(body: Organisation, rules: AwardRules, year: int) -> str:
    """The body's next number in that year: its issued awards of the year plus one."""
    start_at, end_at = beijing_year_bounds(year)
    issued = db.session.scalar(sa.select(sa.func.count()).select_from(Award).where(
        Award.body_id == body.id, Award.status == "issued", Award.issued_at >= start_at,
        Award.issued_at < end_at))
    return rules.for_type(body.type.value).format_number(rules.abbreviation(body.name), year, issued + 1)


def _check_issuable(case: Case, user: User, rules: Rules, seen_hash: str) -> Award:
    require_drafter(case, user)
    award = current_award(case)
    if award is None:
        raise DomainError(gettext("请先起草并保存裁决书，再签发。"), 409)
    why = funnel.refusal(case, "issue_award", user, rules)
    if why:
        raise TransitionRefused(why[1], why[0])
    if seen_hash != draft_hash(award):
        raise DomainError(gettext("裁决书草稿已被修改，请核对最新内容后再签发。"), 409)
    return award


def _signed_pdf(data: dict, body: Organisation) -> bytes:
    from app.agreements.pdf import collect_layout_garbage, sign_pdf
    from app.agreements.pki import signer_for
    from app.documents import render

    try:
        pdf = sign_pdf(render(TEMPLATE, data), signer_for(body), reason="仲裁裁决书电子签章")
    except Exception as exc:  # no font, no key, a bad render: nothing is issued, the page says why
        log.error("award of case %s: PDF not made: %s: %s", data["case"]["id"], type(exc).__name__, exc)
        raise AwardIssueFailed(gettext(RENDER_FAILED)) from exc
    collect_layout_garbage()
    return pdf


def issue(case: Case, user: User, rules: Rules, award_rules: AwardRules, seen_hash: str) -> Award:
    """签发: number, content hash, the signed PDF stored and registered, the award issued, the funnel step
    taken. Any failure raises before the session holds a half-issued award (the view rolls back)."""
    from app.escalation.award_document import canonical_content, document_data

    award = _check_issuable(case, user, rules, seen_hash)
    # Two awards of one body issued at once would count the same awards: lock the body's row (PostgreSQL) until
    # the commit. SQLite has no row locks; its single writer makes a clash unlikely, not impossible.
    db.session.execute(sa.select(Organisation.id).where(Organisation.id == case.arbitration_body_id)
                       .with_for_update())
    body = case.arbitration_body
    now = utcnow()
    number = next_number(body, award_rules, int(_beijing(now, "%Y")))
    content = canonical_content(case, award, body, number, now)
    content_hash = _sha256(content)
    pdf = _signed_pdf(document_data(case, body, award_rules, content, content_hash, now), body)
    sha256 = storage().put(pdf)
    document = Document(kind=DOCUMENT_KIND, case_id=case.id, template=TEMPLATE, sha256=sha256,
                        size_bytes=len(pdf), created_by_id=user.id)
    db.session.add(document)
    db.session.flush()
    award.number, award.content_hash, award.issued_at = number, content_hash, now
    award.document_id, award.sha256, award.status = document.id, sha256, "issued"
    award.arbitrator_id = user.id
    db.session.flush()
    # The parties hear of it from app/escalation/notify.py, which listens to every escalation step.
    reason = gettext("裁决书 %(number)s", number=number)
    case_operations.transition(case, "issue_award", user, rules, reason=reason)
    return award


def _beijing(value, fmt: str) -> str:
    from app.core.web import localtime

    return localtime(value, fmt)


def signed_pdf_bytes(award: Award) -> bytes | None:
    """The stored signed PDF, or None when it is missing or no longer matches its hash."""
    if award.status != "issued" or not award.sha256:
        return None
    try:
        with storage().open(award.sha256) as fh:
            data = fh.read()
    except OSError:
        log.error("award %s: stored PDF %s is missing", award.id, award.sha256)
        return None
    if hashlib.sha256(data).hexdigest() != award.sha256:
        log.error("award %s: stored PDF %s does not match its hash", award.id, award.sha256)
        return None
    return data


# --- the ORM guard -------------------------------------------------------------------------------------
def _was_issued(session: Session, award: Award) -> bool:
    """status as loaded from the database, before any change made in this unit of work (read again when the
    attribute was expired, e.g. after a commit)."""
    state = sa.inspect(award)
    if "status" in state.unloaded:
        with session.no_autoflush:
            return session.scalar(sa.select(Award.status).where(Award.id == award.id)) == "issued"
    history = state.attrs.status.history
    return "issued" in list(history.unchanged or ()) + list(history.deleted or ())


def refuse_changes_to_issued(session: Session, flush_context, instances) -> None:
    """No UPDATE or DELETE of an award that was already issued (see app/agreements/guards.py)."""
    for obj in list(session.dirty) + list(session.deleted):
        if isinstance(obj, Award) and sa.inspect(obj).persistent and _was_issued(session, obj) and (
                obj in session.deleted or session.is_modified(obj, include_collections=False)):
            raise AwardFrozen(_frozen_message())


sa.event.listen(Session, "before_flush", refuse_changes_to_issued)
