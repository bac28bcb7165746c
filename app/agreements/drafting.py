"""Drafting the settlement agreement (人民调解协议书): prefilled from the case and the accepted offers, edited by the
mediator, saved as versions, sent to the parties for review and signing.

When: the mediator may prepare a draft while mediation is in progress (the terms usually take shape in the
session) or after the settlement is recorded; it can be sent to the parties for signing only once the
settlement is recorded (case closed/settled), because the agreement is what the settlement consists of.

Versions: a draft is edited in place. Editing a version the parties are reviewing (status signing) makes
version n+1 (the old one superseded, its open change requests answered by the new one). Editing a signed
agreement makes a correction: version n+1 with supersedes_id = the signed one, which stays signed and
current until the correction is itself signed. Operations flush, never commit."""
from __future__ import annotations

import difflib
import hashlib
from dataclasses import dataclass, field
from decimal import ROUND_UP, Decimal

import sqlalchemy as sa

from app.accounts.models import User
from app.agreements import guards  # noqa: F401  (the ORM guard is on whenever agreements are written)
from app.agreements.clauses import library, render
from app.agreements.models import Agreement, ChangeRequest
from app.cases.models import Case, CaseStatus, PartyRole, Stage
from app.core.errors import DomainError
from app.core.i18n import gettext
from app.core.time import utcnow
from app.extensions import db
from app.mediation import outcome as outcome_ops
from app.mediation.record import canonical_json, is_mediator

ROLE_LABELS = {"applicant": "申请人", "respondent": "被申请人"}
KIND_LABELS = {"person": "个人", "organisation": "单位"}
MAX_TERMS = 30
TEXT_LIMITS = {"facts": 5000, "responsibility": 3000, "performance": 3000}


class DraftInvalid(DomainError):
    """The draft has mistakes; errors maps a field name ("facts", "terms-0-amount") to its Chinese message."""

    status_code = 422

    def __init__(self, errors: dict[str, str]):
        super().__init__(gettext("未保存：请查看下方标红的项目。"))
        self.errors = errors


@dataclass
class DraftInput:
    facts: str
    responsibility: str
    performance: str
    terms: list[dict] = field(default_factory=list)  # [{"clause": key, "params": {name: raw string}}]
    change_note: str | None = None


# --- who and when ---------------------------------------------------------------------------------
def can_draft(case: Case, user: User) -> bool:
    """The case's mediator, while mediation runs or once it has settled."""
    return is_mediator(case, user) and (
        (case.stage == Stage.mediate and case.status == CaseStatus.in_progress)
        or (case.stage == Stage.closed and case.status == CaseStatus.settled))


def require_drafter(case: Case, user: User) -> None:
    if not is_mediator(case, user):
        raise DomainError(gettext("只有本案调解员可以起草调解协议。"), 403)
    if not can_draft(case, user):
        raise DomainError(gettext("调解尚未开始或已结束且未达成协议，不能起草调解协议。"), 409)


def is_settled(case: Case) -> bool:
    return case.stage == Stage.closed and case.status == CaseStatus.settled


# --- versions -------------------------------------------------------------------------------------
def versions(case: Case) -> list[Agreement]:
    return db.session.scalars(sa.select(Agreement).where(Agreement.case_id == case.id)
                              .order_by(Agreement.version.desc())).all()


def latest(case: Case) -> Agreement | None:
    """The newest version that is not superseded: a draft, one in signing, or the signed agreement."""
    return db.session.scalar(sa.select(Agreement).where(Agreement.case_id == case.id,
                                                        Agreement.status != "superseded")
                             .order_by(Agreement.version.desc()).limit(1))


def previous(agreement: Agreement) -> Agreement | None:
    return db.session.get(Agreement, agreement.supersedes_id) if agreement.supersedes_id else None


# --- names and prefilled text ---------------------------------------------------------------------
def side_names(case: Case) -> dict[str, str]:
    """{"applicant": "王秀英", "respondent": "李建国"}: each side's names joined with 、."""
    return {role: "、".join(p.name for p in case.parties if p.role.value == role) for role in ROLE_LABELS}


def _org_name(case: Case) -> str:
    return case.organisation.name if case.organisation else "人民调解委员会"


def prefill_texts(case: Case) -> dict[str, str]:
    """Facts, responsibility and performance as a starting point the mediator edits."""
    n, org = side_names(case), _org_name(case)
    a, r = f"申请人{n['applicant']}", f"被申请人{n['respondent']}"
    facts = f"{a}与{r}因“{case.title}”发生纠纷。申请人称：{(case.description or '').strip()}"
    responsibility = (f"经调解员了解核实，双方对上述事实均无异议。{r}对纠纷的发生负有责任，同意承担本协议约定的义务；"
                      f"{a}同意在{r}履行本协议后，不再就本纠纷向其主张其他权利。")
    # When it takes effect and the copies (一式三份) are the PDF's own section 五: not repeated here.
    performance = (f"各项义务按上述协议内容约定的期限和方式履行。款项以银行转账或当面交付现金的方式支付，收款方收到后应出具收条。"
                   f"履行地点：{org}所在地或双方另行约定的地点。")
    return {"facts": facts, "responsibility": responsibility, "performance": performance}


def _per_instalment(amount: str, n: int) -> str:
    return str((Decimal(amount) / n).quantize(Decimal("0.01"), rounding=ROUND_UP))


def terms_from_offer_term(term: dict) -> list[dict]:
    """Clauses from one term of outcome's draft. The draft names who pays: the respondent pays the applicant,
    whichever side (or the mediator) made the offer, since the applicant brought the claim."""
    payer, payee, by = term["payer"], term["payee"], term.get("pay_by") or ""
    out = []
    if term.get("amount"):
        n = term.get("instalments") or 1
        if n > 1:
            out.append({"clause": "payment_instalments", "params": {
                "payer": payer, "payee": payee, "amount": term["amount"], "instalments": str(n),
                "per_instalment": _per_instalment(term["amount"], n), "first_date": "", "last_date": by}})
        else:
            out.append({"clause": "payment_once", "params": {"payer": payer, "payee": payee,
                                                             "amount": term["amount"], "date": by}})
    if term.get("apology"):
        out.append({"clause": "apology", "params": {"apologiser": payer, "recipient": payee,
                                                    "manner": "当面或书面", "date": by}})
    if term.get("other_terms"):
        content = " ".join(term["other_terms"].split())
        content += "" if content[-1] in "。！；.!" else "。"
        out.append({"clause": "other", "params": {"content": content}})
    return out


def prefill_terms(case: Case) -> list[dict]:
    """Clauses from the accepted offers (the settled case's draft, or the offers accepted so far); a default
    clause follows when someone has to pay."""
    draft = outcome_ops.draft_for(case)
    offer_terms = (draft.terms if draft
                   else [outcome_ops.term_from_offer(o) for o in outcome_ops.accepted_offers(case)])
    terms = [t for term in offer_terms for t in terms_from_offer_term(term)]
    if any(t["clause"].startswith("payment") for t in terms):
        terms.append({"clause": "default", "params": {"obligor": PartyRole.respondent.value,
                                                      "beneficiary": PartyRole.applicant.value}})
    return terms


def editor_start(case: Case) -> DraftInput:
    """What the editor shows: the newest version's content, or the prefilled draft when there is none."""
    current = latest(case)
    if current is None:
        return DraftInput(terms=prefill_terms(case), **prefill_texts(case))
    return DraftInput(facts=current.facts, responsibility=current.responsibility,
                      performance=current.performance,
                      terms=[{"clause": t["clause"], "params": dict(t["params"])} for t in current.terms])


def new_term(key: str) -> dict:
    """A clause added in the editor, parties prefilled the usual way round (the respondent owes)."""
    clause = library().get(key)
    if clause is None:
        raise DomainError(gettext("没有这个条款。"), 422)
    defaults = {}
    parties = [p.name for p in clause.params if p.type == "party"]
    if len(parties) == 2:
        defaults = {parties[0]: PartyRole.respondent.value, parties[1]: PartyRole.applicant.value}
    return {"clause": key, "params": defaults}


# --- checking and saving ----------------------------------------------------------------------------
def check(case: Case, data: DraftInput) -> tuple[list[dict], dict[str, str]]:
    """(stored terms with their rendered texts, errors by field name)."""
    errors: dict[str, str] = {}
    for name, limit in TEXT_LIMITS.items():
        value = (getattr(data, name) or "").strip()
        if not value:
            errors[name] = gettext("请填写此项。")
        elif len(value) > limit:
            errors[name] = gettext("最多 %(n)s 个字符。", n=limit)
    if not data.terms:
        errors["terms"] = gettext("请至少添加一项协议条款。")
    elif len(data.terms) > MAX_TERMS:
        errors["terms"] = gettext("条款最多 %(n)s 项。", n=MAX_TERMS)
    clauses, names, stored = library(), side_names(case), []
    for i, term in enumerate(data.terms):
        clause = clauses.get(term.get("clause"))
        if clause is None:
            errors[f"terms-{i}-clause"] = gettext("没有这个条款。")
            continue
        raw = {p.name: term["params"].get(p.name, "") for p in clause.params}
        out = render(clause, raw, names)
        errors.update({f"terms-{i}-{k}": v for k, v in out.errors.items()})
        stored.append({"clause": clause.key, "params": {k: str(v).strip() for k, v in raw.items()},
                       "text": out.text, "summary": out.summary})
    return stored, errors


def _summary(terms: list[dict]) -> str:
    return "\n".join(f"{i}. {t['summary']}" for i, t in enumerate(terms, 1))


def save(case: Case, user: User, data: DraftInput) -> Agreement:
    """Save the draft: in place while it is a draft, else as version n+1 (see the module's docstring)."""
    require_drafter(case, user)
    terms, errors = check(case, data)
    if errors:
        raise DraftInvalid(errors)
    current = latest(case)
    if current is None or current.status != "draft":
        current = _new_version(case, user, current, data.change_note)
    current.facts, current.responsibility = data.facts.strip(), data.responsibility.strip()
    current.performance, current.terms, current.summary = data.performance.strip(), terms, _summary(terms)
    db.session.flush()
    return current


def _new_version(case: Case, user: User, before: Agreement | None, note: str | None) -> Agreement:
    last = db.session.scalar(sa.select(sa.func.max(Agreement.version)).where(Agreement.case_id == case.id))
    agreement = Agreement(case_id=case.id, version=(last or 0) + 1, status="draft", created_by_id=user.id,
                          created_at=utcnow(), supersedes_id=before.id if before else None,
                          change_note=(note or "").strip() or None, facts="", responsibility="",
                          performance="", terms=[])
    db.session.add(agreement)
    db.session.flush()
    if before is not None and before.status == "signing":
        before.status = "superseded"
        for request in open_change_requests(before):
            request.answered_by_version_id = agreement.id
    return agreement


def open_change_requests(agreement: Agreement) -> list[ChangeRequest]:
    return db.session.scalars(sa.select(ChangeRequest).where(ChangeRequest.agreement_id == agreement.id,
                                                             ChangeRequest.answered_by_version_id.is_(None))
                              .order_by(ChangeRequest.id)).all()


# --- the content and its hash -----------------------------------------------------------------------
def parties_content(case: Case) -> list[dict]:
    """The parties as the agreement states them (full numbers: it is their own document)."""
    order = {"applicant": 0, "respondent": 1}
    return [{"role": ROLE_LABELS[p.role.value], "name": p.name, "kind": KIND_LABELS[p.kind.value],
             "id_number": p.id_number or "", "phone": p.phone or "", "address": p.address or ""}
            for p in sorted(case.parties, key=lambda p: (order[p.role.value], p.id))]


def canonical_content(case: Case, agreement: Agreement) -> dict:
    """What the hash covers. The parties come from the case (its details are frozen once mediation starts)."""
    return {"case_id": case.id, "version": agreement.version, "parties": parties_content(case),
            "facts": agreement.facts, "responsibility": agreement.responsibility,
            "terms": [t["text"] for t in agreement.terms], "performance": agreement.performance}


def compute_hash(case: Case, agreement: Agreement) -> str:
    return hashlib.sha256(canonical_json(canonical_content(case, agreement)).encode("utf-8")).hexdigest()


def send_for_signing(case: Case, user: User) -> Agreement:
    """送交各方审阅: the draft is fixed (its hash computed) and the parties may review and sign it."""
    require_drafter(case, user)
    current = latest(case)
    if current is None or current.status != "draft":
        raise DomainError(gettext("没有待送交的协议草稿，请先起草并保存。"), 409)
    if not is_settled(case):
        raise DomainError(gettext("请先在案件页记录“调解成功”，再把协议送交各方审阅签署。"), 409)
    missing = [p for p in case.parties if p.user_id is None]
    if missing:
        names = "、".join(f"{ROLE_LABELS[p.role.value]}{p.name}" for p in missing)
        raise DomainError(gettext("%(names)s 尚未加入平台（未接受调解邀请），无法在线审阅和签署协议。", names=names), 409)
    stored = [{"clause": t["clause"], "params": t["params"]} for t in current.terms]
    terms, errors = check(case, DraftInput(current.facts, current.responsibility, current.performance,
                                           stored))
    if errors:
        raise DomainError(gettext("草稿中有需要修改的条款，请打开编辑页面修改后再送交。"), 409)
    current.terms, current.summary = terms, _summary(terms)
    current.content_hash = compute_hash(case, current)
    current.status = "signing"
    db.session.flush()
    return current


# --- differences between versions -------------------------------------------------------------------
SECTION_TITLES = ("一、纠纷的主要事实", "二、各方的责任", "三、协议内容", "四、履行方式、地点和期限")


def document_lines(agreement: Agreement) -> list[str]:
    """The agreement as lines of text, section by section: what the differences are computed on."""
    lines = [SECTION_TITLES[0], *agreement.facts.splitlines(), SECTION_TITLES[1],
             *agreement.responsibility.splitlines(), SECTION_TITLES[2]]
    lines += [f"{i}. {t['text']}" for i, t in enumerate(agreement.terms, 1)]
    return lines + [SECTION_TITLES[3], *agreement.performance.splitlines()]


def differences(old: Agreement, new: Agreement) -> list[dict]:
    """Changed lines only: {"kind": "removed"|"added", "text"}, in document order."""
    a, b = document_lines(old), document_lines(new)
    out = []
    for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(a=a, b=b, autojunk=False).get_opcodes():
        if tag in ("replace", "delete"):
            out += [{"kind": "removed", "text": line} for line in a[i1:i2]]
        if tag in ("replace", "insert"):
            out += [{"kind": "added", "text": line} for line in b[j1:j2]]
    return out
