"""The funnel as one table of transitions, and one guard that explains every refusal (Chinese first, or English)."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from app.accounts.models import Role, User
from app.cases.models import Case, CaseStatus, Stage
from app.cases.rules import Rules
from app.core.errors import TransitionRefused
from app.core.i18n import N_, gettext, is_english

S = CaseStatus


@dataclass(frozen=True)
class Transition:
    action: str
    sources: tuple[tuple[Stage, CaseStatus], ...]
    target: tuple[Stage, CaseStatus]
    actor: str                          # key of ACTORS
    zh: str
    en: str
    guards: tuple[str, ...] = ()        # keys of GUARDS, checked in order
    reason_required: bool = False
    fields: tuple[str, ...] = field(default=())  # extra form fields the step needs
    page: str | None = None             # endpoint of the page that takes this step (the button links there)
    page_only: bool = False             # the bare step URL refuses it: the page builds what the step needs

    @property
    def label(self) -> str:
        """The step's name in the current request's language (Chinese outside a request)."""
        return self.en if is_english() else self.zh


OPEN_STATES = tuple(
    (stage, status)
    for stage, status in [
        (Stage.consult, S.open), (Stage.assess, S.assessed), (Stage.mediate, S.awaiting_assignment),
        (Stage.mediate, S.in_progress), (Stage.mediate, S.failed), (Stage.arbitrate, S.filed),
        (Stage.arbitrate, S.accepted), (Stage.litigate, S.filed), (Stage.litigate, S.returned),
    ]
)

TRANSITIONS: tuple[Transition, ...] = (
    Transition("assess", ((Stage.consult, S.open),), (Stage.assess, S.assessed), "applicant",
               "提交评估", "Submit for assessment", guards=("has_category", "has_respondent")),
    Transition("resolve_at_consult", ((Stage.consult, S.open),), (Stage.closed, S.resolved), "applicant",
               "问题已解决", "Resolved by the answer"),
    Transition("request_mediation", ((Stage.assess, S.assessed),), (Stage.mediate, S.awaiting_assignment),
               "applicant", "申请调解", "Request mediation", guards=("mediable", "mediation_org_exists")),
    Transition("auto_assign", ((Stage.mediate, S.awaiting_assignment),), (Stage.mediate, S.in_progress),
               "system", "系统匹配调解员", "Matched to a mediator", fields=("mediator_id",)),
    Transition("assign_mediator", ((Stage.mediate, S.awaiting_assignment),), (Stage.mediate, S.in_progress),
               "org_admin", "分派调解员", "Assign a mediator", fields=("mediator_id",), page="mediation.assign"),
    Transition("request_other_mediator", ((Stage.mediate, S.in_progress),), (Stage.mediate, S.in_progress),
               "applicant", "申请更换调解员", "Ask for another mediator", guards=("first_change_request",)),
    Transition("reassign_mediator", ((Stage.mediate, S.in_progress),), (Stage.mediate, S.in_progress),
               "org_admin", "改派调解员", "Reassign the mediator", reason_required=True, fields=("mediator_id",),
               page="mediation.assign"),
    Transition("record_settlement", ((Stage.mediate, S.in_progress),), (Stage.closed, S.settled),
               "mediator", "记录调解成功", "Record settlement", reason_required=True),
    Transition("record_failure", ((Stage.mediate, S.in_progress),), (Stage.mediate, S.failed),
               "mediator", "记录调解未成", "Record failure", reason_required=True),
    Transition("request_arbitration", ((Stage.assess, S.assessed), (Stage.mediate, S.failed)),
               (Stage.arbitrate, S.filed), "applicant", "申请仲裁", "Apply for arbitration",
               guards=("arbitrable", "arbitration_agreement", "arbitration_body_exists")),
    Transition("accept_arbitration", ((Stage.arbitrate, S.filed),), (Stage.arbitrate, S.accepted),
               "arbitrator", "受理仲裁申请", "Accept the application"),
    Transition("issue_award", ((Stage.arbitrate, S.accepted),), (Stage.arbitrate, S.awarded),
               "arbitrator", "作出裁决", "Issue the award", reason_required=True, page="awards.edit", page_only=True),
    Transition("conclude_award", ((Stage.arbitrate, S.awarded),), (Stage.closed, S.concluded),
               "party_or_arbitrator", "接受裁决并结案", "Accept the award and close"),
    Transition("file_lawsuit", ((Stage.assess, S.assessed), (Stage.mediate, S.failed), (Stage.arbitrate, S.awarded)),
               (Stage.litigate, S.filed), "applicant", "向法院起诉", "File with a court",
               guards=("labour_arbitrated_first", "award_not_final"), fields=("court_id",),
               page="litigation.filing_page", page_only=True),
    Transition("accept_filing", ((Stage.litigate, S.filed),), (Stage.litigate, S.accepted), "court_clerk",
               "立案受理", "Accept the filing", fields=("court_case_number",)),
    Transition("return_filing", ((Stage.litigate, S.filed),), (Stage.litigate, S.returned), "court_clerk",
               "退回补正", "Return with reasons", reason_required=True),
    Transition("resubmit_filing", ((Stage.litigate, S.returned),), (Stage.litigate, S.filed), "applicant",
               "补正后重新提交", "Resubmit", page="litigation.filing_page", page_only=True),
    Transition("withdraw", OPEN_STATES, (Stage.closed, S.withdrawn), "party", "撤回", "Withdraw"),
)
BY_ACTION = {t.action: t for t in TRANSITIONS}
# Actions that are recorded in the history but are not funnel steps.
OTHER_ACTIONS = {"draft": ("开始填写纠纷", "Started the intake"), "file": ("提交纠纷", "Filed"), "edit": ("修改案件信息", "Edited"),
                 "personal_data_purged": ("保存期限届满，个人信息已清除", "Personal data purged after the retention period"),
                 "add_evidence": ("上传证据", "Evidence added"), "imported": ("从案件包导入", "Imported from a case bundle"),
                 "session_scheduled": ("安排调解会议", "Session scheduled"), "session_cancelled": ("取消调解会议", "Session cancelled"),
                 "respondent_accepted": ("被申请人同意调解", "The respondent agreed to mediate"),
                 "respondent_declined": ("被申请人不同意调解", "The respondent declined mediation"),
                 "invitation_expired": ("被申请人逾期未答复调解邀请", "The respondent did not answer the invitation"),
                 "invitation_reissued": ("更正被申请人电话并重新邀请",
                                         "Respondent's phone corrected and the invitation sent again"),
                 "deadline_extended": ("各方同意延长调解期限", "Mediation deadline extended with everyone's consent"),
                 "deadline_extension_refused": ("当事人不同意延长调解期限", "A party refused to extend the mediation deadline"),
                 "safety_flagged": ("调解员标记安全风险，联合调解关闭", "Safety risk flagged: joint sessions closed"),
                 "offer_accepted": ("双方接受调解方案", "Both sides accepted an offer"),
                 "confirmation_applied": ("申请司法确认", "Applied for judicial confirmation"),
                 "confirmation_joined": ("双方共同申请司法确认，已提交法院",
                                         "Joint application for judicial confirmation submitted to the court"),
                 "confirmation_withdrawn": ("撤回司法确认申请", "Judicial confirmation application withdrawn"),
                 "confirmation_confirmed": ("法院裁定确认调解协议有效", "The court confirmed the agreement"),
                 "confirmation_rejected": ("法院裁定驳回司法确认申请", "The court rejected the application"),
                 "arbitration_agreement_signed": ("各方在线签署仲裁协议", "All parties signed the arbitration agreement")}


def action_label(action: str) -> str:
    """The label of an action in the history, in the current request's language (Chinese outside a request)."""
    t = BY_ACTION.get(action)
    zh_en = (t.zh, t.en) if t else OTHER_ACTIONS.get(action, (action, action))
    return zh_en[1] if is_english() else zh_en[0]


# --- who may take a step -------------------------------------------------------------
ACTORS: dict[str, Callable[[Case, User], bool]] = {
    "applicant": lambda case, user: case.is_applicant_side(user),
    "party": lambda case, user: case.is_party(user),
    "org_admin": lambda case, user: user.role == Role.admin or (
        user.role == Role.org_admin and user.organisation_id == case.organisation_id),
    "mediator": lambda case, user: user.role == Role.mediator and case.mediator_id == user.id,
    "arbitrator": lambda case, user: user.role == Role.arbitrator and user.organisation_id == case.arbitration_body_id,
    "party_or_arbitrator": lambda case, user: case.is_party(user) or (
        user.role == Role.arbitrator and user.organisation_id == case.arbitration_body_id),
    "court_clerk": lambda case, user: user.role == Role.court_clerk and user.organisation_id == case.court_id,
    "system": lambda case, user: user is None,
}
# Marked with N_ and translated when shown (gettext(ACTOR_REFUSALS[actor])).
ACTOR_REFUSALS = {
    "applicant": N_("只有申请人（或代为申请的网格员）可以执行此操作。"),
    "party": N_("只有案件当事人可以执行此操作。"),
    "org_admin": N_("只有受理本案的调解组织管理员可以分派调解员。"),
    "mediator": N_("只有本案的调解员可以执行此操作。"),
    "arbitrator": N_("只有受理本案的仲裁机构的仲裁员可以执行此操作。"),
    "party_or_arbitrator": N_("只有当事人或本案仲裁员可以执行此操作。"),
    "court_clerk": N_("只有受理本案的人民法院立案庭可以执行此操作。"),
    "system": N_("此步骤由系统自动完成。"),
}


# --- guards: each returns None when the step may go ahead, else the reason ----------------
def _category(case: Case, rules: Rules):
    return rules.category(case.category)


def _labour_arbitrated(case: Case) -> bool:
    return any(e.action == "issue_award" for e in case.events)


def _never_arbitrable(case: Case, rules: Rules) -> bool:
    cat = _category(case, rules)
    return cat is not None and cat.arbitration == "none"


def _guard_has_category(case, rules, ctx):
    return None if _category(case, rules) else gettext("请先选择纠纷类型。")


def _guard_has_respondent(case, rules, ctx):
    return None if case.respondents else gettext("请先填写至少一名被申请人。")


def _guard_mediable(case, rules, ctx):
    cat = _category(case, rules)
    if cat and not cat.mediable:
        return cat.message("mediation_refused") or gettext("此类纠纷不能在本平台调解。")
    return None


def _guard_arbitrable(case, rules, ctx):
    cat = _category(case, rules)
    if cat is None or cat.arbitrable:
        return None
    return cat.message("arbitration_refused") or gettext("此类纠纷依法不能仲裁。")


def _guard_arbitration_agreement(case, rules, ctx):
    cat = _category(case, rules)
    if cat and cat.arbitration == "agreement" and not case.has_arbitration_agreement:
        return rules.message("arbitration_agreement_missing") or gettext("申请仲裁须有书面仲裁协议。")
    return None


def _guard_labour_arbitrated_first(case, rules, ctx):
    cat = _category(case, rules)
    if cat and cat.arbitration_before_litigation and not _labour_arbitrated(case):
        return cat.message("litigation_refused") or gettext("此类纠纷须先经仲裁，方可起诉。")
    return None


def _guard_award_not_final(case, rules, ctx):
    cat = _category(case, rules)
    if case.stage == Stage.arbitrate and cat and not cat.litigation_after_award:
        return rules.message("award_final") or gettext("仲裁裁决为终局裁决。")
    return None


def _guard_org_exists(case, rules, ctx):
    return None if ctx.get("mediation_org_available", True) else gettext("您所在地区暂无可受理的调解组织，请联系网格员。")


def _guard_arbitration_body_exists(case, rules, ctx):
    return None if ctx.get("arbitration_body_available", True) else gettext("暂无可受理本案的仲裁机构。")


def _guard_first_change_request(case, rules, ctx):
    if any(d.kind == "resident_request" for d in case.routing_decisions):
        return gettext("您已申请过一次更换调解员。如仍有异议，请联系调解组织管理员。")
    return None


GUARDS = {
    "first_change_request": _guard_first_change_request,
    "has_category": _guard_has_category,
    "has_respondent": _guard_has_respondent,
    "mediable": _guard_mediable,
    "arbitrable": _guard_arbitrable,
    "arbitration_agreement": _guard_arbitration_agreement,
    "labour_arbitrated_first": _guard_labour_arbitrated_first,
    "award_not_final": _guard_award_not_final,
    "mediation_org_exists": _guard_org_exists,
    "arbitration_body_exists": _guard_arbitration_body_exists,
}


def refusal(case: Case, action: str, user: User, rules: Rules, ctx: dict | None = None) -> tuple[int, str] | None:
    """Why user may not take this step now as (HTTP status, message), or None when it is allowed."""
    t = BY_ACTION.get(action)
    if t is None:
        return 404, gettext("没有这个操作。")
    if (case.stage, case.status) not in t.sources:
        return 409, gettext("案件当前处于“%(stage)s·%(status)s”，不能“%(action)s”。",
                            stage=case.stage.label, status=case.status.label, action=t.label)
    if (user is None and t.actor != "system") or not ACTORS[t.actor](case, user):
        return 403, gettext(ACTOR_REFUSALS[t.actor])
    for name in t.guards:
        message = GUARDS[name](case, rules, ctx or {})
        if message:
            return 409, message
    return None


def check(case: Case, action: str, user: User, rules: Rules, ctx: dict | None = None) -> Transition:
    """The transition for this step, or TransitionRefused with a readable message."""
    why = refusal(case, action, user, rules, ctx)
    if why:
        raise TransitionRefused(why[1], why[0])
    return BY_ACTION[action]


def available(case: Case, user: User, rules: Rules) -> list[Transition]:
    """Steps this user may take now (shown as buttons)."""
    # Only the steps leaving the current state can be allowed: refusal() of any other would compose (and translate)
    # a message that nobody reads, for each of the ~20 steps, on every case page.
    state = (case.stage, case.status)
    return [t for t in TRANSITIONS if state in t.sources and refusal(case, t.action, user, rules) is None]


def blocked_for_user(case: Case, user: User, rules: Rules) -> list[tuple[Transition, str]]:
    """Steps of this user's that exist from here but are refused by a rule, with the reason (shown greyed)."""
    out = []
    for t in TRANSITIONS:
        if t.action == "request_arbitration" and _never_arbitrable(case, rules):
            continue  # not even a greyed step: the assessment already says why (family: 仲裁法 art. 3)
        if (case.stage, case.status) in t.sources and ACTORS[t.actor](case, user):
            why = refusal(case, t.action, user, rules)
            if why:
                out.append((t, why[1]))
    return out
