"""Demo data: a county (镜湖区) with organisations on three tiers, users for every role, cases at every stage."""
from __future__ import annotations

from decimal import Decimal

import sqlalchemy as sa

from app.accounts.models import MediatorProfile, Organisation, OrgType, Role, Tier, User
from app.accounts.operations import hash_password
from app.cases import operations
from app.cases.models import Case, PartyKind, PartyRole
from app.cases.operations import CaseData, PartyData
from app.cases.rules import current_rules
from app.core.time import utcnow
from app.extensions import db

COUNTY, TOWN_A, TOWN_B = "340202", "340202001", "340202002"
VILLAGE_A1, VILLAGE_A2, VILLAGE_B1 = "340202001001", "340202001002", "340202002001"

ORGANISATIONS = [
    # key, name, type, tier, region
    ("county_pm", "镜湖区人民调解委员会", OrgType.people_mediation, Tier.county, COUNTY),
    ("town_a_pm", "弋矶山街道人民调解委员会", OrgType.people_mediation, Tier.town, TOWN_A),
    ("town_b_pm", "范罗山街道人民调解委员会", OrgType.people_mediation, Tier.town, TOWN_B),
    ("village_a1_pm", "团结社区人民调解委员会", OrgType.people_mediation, Tier.village, VILLAGE_A1),
    ("village_a2_pm", "花津社区人民调解委员会", OrgType.people_mediation, Tier.village, VILLAGE_A2),
    ("village_b1_pm", "长虹社区人民调解委员会", OrgType.people_mediation, Tier.village, VILLAGE_B1),
    ("traffic", "镜湖区道路交通事故纠纷人民调解委员会", OrgType.trade_mediation, Tier.county, COUNTY),
    ("medical", "镜湖区医疗纠纷人民调解委员会", OrgType.trade_mediation, Tier.county, COUNTY),
    ("labour_med", "镜湖区劳动争议调解中心", OrgType.trade_mediation, Tier.county, COUNTY),
    ("lawyer", "镜湖区律师调解工作室", OrgType.lawyer_mediation, Tier.county, COUNTY),
    ("court", "芜湖市镜湖区人民法院", OrgType.court, Tier.county, COUNTY),
    ("court2", "芜湖市弋江区人民法院", OrgType.court, Tier.county, "340203"),  # a second court: jurisdiction can differ
    ("arbitration", "芜湖仲裁委员会", OrgType.arbitration_commission, Tier.county, COUNTY),
    ("labour_arb", "镜湖区劳动人事争议仲裁委员会", OrgType.labour_arbitration, Tier.county, COUNTY),
]

# username, name, role, org key, region, specialties
USERS = [
    ("resident1", "王秀英", Role.resident, None, VILLAGE_A1, None),
    ("resident2", "李建国", Role.resident, None, VILLAGE_A1, None),
    ("grid1", "陈敏", Role.grid_worker, None, VILLAGE_A1, None),
    ("mediator1", "张桂兰", Role.mediator, "village_a1_pm", VILLAGE_A1,
     ["neighbour", "marriage_family", "property_management", "loan_debt", "tenancy"]),
    ("mediator2", "刘德明", Role.mediator, "village_a1_pm", VILLAGE_A1, ["maintenance_support", "inheritance", "rural_land"]),
    ("mediator3", "赵丽华", Role.mediator, "village_a2_pm", VILLAGE_A2, ["neighbour", "tenancy", "consumer"]),
    ("mediator4", "孙志强", Role.mediator, "village_b1_pm", VILLAGE_B1, ["neighbour", "public_order"]),
    ("mediator5", "周建华", Role.mediator, "town_a_pm", TOWN_A, ["contract", "loan_debt", "construction"]),
    ("mediator6", "吴晓燕", Role.mediator, "town_a_pm", TOWN_A, ["marriage_family", "inheritance", "school"]),
    ("mediator7", "郑国庆", Role.mediator, "town_b_pm", TOWN_B, ["rural_land", "demolition", "environment"]),
    ("mediator8", "王海涛", Role.mediator, "county_pm", COUNTY, ["company_business", "contract", "demolition"]),
    ("mediator9", "钱文静", Role.mediator, "traffic", COUNTY, ["traffic_accident", "personal_injury"]),
    ("mediator10", "冯医生", Role.mediator, "medical", COUNTY, ["medical", "personal_injury"]),
    ("mediator11", "陈立新", Role.mediator, "labour_med", COUNTY, ["labour_wages", "work_injury"]),
    ("mediator12", "杨律师", Role.mediator, "lawyer", COUNTY, ["contract", "company_business", "loan_debt"]),
    ("orgadmin1", "何主任", Role.org_admin, "village_a1_pm", VILLAGE_A1, None),
    ("orgadmin2", "许主任", Role.org_admin, "town_a_pm", TOWN_A, None),
    ("arbitrator1", "马仲裁员", Role.arbitrator, "labour_arb", COUNTY, None),
    ("arbitrator2", "林仲裁员", Role.arbitrator, "arbitration", COUNTY, None),
    ("court1", "镜湖法院立案庭", Role.court_clerk, "court", COUNTY, None),
    ("admin", "综治中心赵主任", Role.admin, None, COUNTY, None),
    ("court2", "弋江法院立案庭", Role.court_clerk, "court2", "340203", None),  # last: earlier users keep their demo phone numbers
    ("resident3", "赵小梅", Role.resident, None, VILLAGE_A1, None),  # has not agreed to the privacy rules yet
]
# Residents who have agreed to the current personal-information rules (resident3 has not: the consent page shows).
CONSENTED_RESIDENTS = ("resident1", "resident2")
# Demo accounts whose phone is not verified yet (the account page offers 验证手机号); every other one's is, as if
# its owner had typed the SMS code (app/accounts/phone.py).
UNVERIFIED_PHONES = ("resident3",)
DEMO_LOGINS = [(u[0], u[2].value, dict((o[0], o[1]) for o in ORGANISATIONS).get(u[3], "")) for u in USERS
               if u[0] in {"resident1", "resident2", "resident3", "grid1", "mediator1", "orgadmin1", "arbitrator1", "court1", "admin"}]


def _get_or_create_orgs() -> dict[str, Organisation]:
    orgs = {}
    for key, name, type_, tier, region in ORGANISATIONS:
        org = db.session.scalar(sa.select(Organisation).where(Organisation.name == name))
        if org is None:
            org = Organisation(name=name, type=type_, tier=tier, region_code=region)
            db.session.add(org)
        orgs[key] = org
    db.session.flush()
    return orgs


def _get_or_create_users(orgs: dict[str, Organisation], password: str) -> dict[str, User]:
    users, pw_hash = {}, None
    for username, name, role, org_key, region, specialties in USERS:
        user = db.session.scalar(sa.select(User).where(User.username == username))
        if user is None:
            pw_hash = pw_hash or hash_password(password)
            user = User(username=username, display_name=name, role=role, password_hash=pw_hash, region_code=region,
                        organisation=orgs[org_key] if org_key else None,
                        phone=f"1390553{len(users):04d}")
            if username not in UNVERIFIED_PHONES:
                user.phone_verified_at = utcnow()
            if specialties is not None:
                user.mediator_profile = MediatorProfile(specialties=specialties, languages=["zh", "wuu"], capacity=12)
            db.session.add(user)
        users[username] = user
    db.session.flush()
    return users


def seed_demo(password: str) -> bool:
    """Create what is missing; return True when the demo cases were created now."""
    orgs = _get_or_create_orgs()
    users = _get_or_create_users(orgs, password)
    _seed_consents(users)
    if db.session.scalar(sa.select(sa.func.count()).select_from(Case).where(Case.filed_by_id == users["resident1"].id)):
        seed_signed_agreement()  # demo databases made before agreements existed get theirs now
        return False
    _seed_cases(users, orgs)
    seed_signed_agreement()
    return True


def _seed_consents(users: dict[str, User]) -> None:
    from app.privacy.consent import has_current_consent, record_consent

    db.session.flush()
    for username in CONSENTED_RESIDENTS:
        if not has_current_consent(users[username]):
            record_consent(users[username])


def _file(users, title, category, description, *, amount=None, respondent=("李建国", PartyKind.person, "resident2"),
          region=VILLAGE_A1, arbitration_agreement=False, filer="resident1") -> Case:
    r_name, r_kind, r_user = respondent
    applicant = users["resident1"]
    parties = [
        PartyData(role=PartyRole.applicant, kind=PartyKind.person, name=applicant.display_name, phone=applicant.phone,
                  region_code=region, user_id=applicant.id),
        PartyData(role=PartyRole.respondent, kind=r_kind, name=r_name, region_code=region,
                  phone="13905530099" if r_kind == PartyKind.person else None,
                  user_id=users[r_user].id if r_user else None),
    ]
    data = CaseData(title=title, description=description, category=category,
                    amount=Decimal(amount) if amount else None, region_code=region,
                    has_arbitration_agreement=arbitration_agreement)
    return operations.file_case(users[filer], data, parties, current_rules())


def _step(case, action, user, reason=None, **data):
    operations.transition(case, action, user, current_rules(), reason=reason, data=data)


def _file_with_court(case, resident, court) -> None:
    """File through the filing page's operation, so the court's package (CourtFiling) exists."""
    from app.escalation import litigation
    from app.escalation.litigation_rules import current_litigation_rules

    data = litigation.FilingData(court_id=court.id, performance_region_code=None, cause_code="private_lending",
                                 claims=litigation.default_claims(case), facts=case.description)
    litigation.submit_filing(case, resident, data, current_rules(), current_litigation_rules(), issue_complaint=False)


def _seed_cases(users: dict[str, User], orgs: dict[str, Organisation]) -> None:
    r1 = users["resident1"]
    court = orgs["court"]

    _file(users, "楼上每晚十一点后还在拖动家具", None,
          "楼上邻居每天晚上十一点以后还在拖动家具、走路声音很大，孩子睡不好，我该怎么办？", respondent=("楼上住户", PartyKind.person, None))
    _file(users, "退租后房东不退押金", "tenancy", "我租的房子去年底到期退租，房东以墙面有污渍为由扣下全部押金3000元，拒绝退还。",
          amount="3000", respondent=("周某", PartyKind.person, None))
    _file(users, "离婚后孩子抚养费一直不给", "marriage_family",
          "我与前夫离婚时约定他每月支付孩子抚养费1500元，已经八个月没有支付。", amount="12000",
          respondent=("前夫刘某", PartyKind.person, None))

    c = _file(users, "楼上卫生间漏水泡坏我家天花板", "neighbour",
              "楼上卫生间防水层老化，漏水把我家天花板和墙面泡坏，多次沟通对方不愿维修也不赔偿。", amount="5000")
    _step(c, "request_mediation", r1)  # routed automatically: the explanation is on the case page

    c = _file(users, "想请人评评理", "contract", "说来话长，这件事拖了很久，想找个懂行的人帮我们评评理，看看到底谁对谁错。",
              respondent=("陈某", PartyKind.person, None))
    _step(c, "request_mediation", r1)  # too little to go on: waits in the triage queue for orgadmin1

    c = _file(users, "物业费与停车位纠纷", "property_management",
              "物业公司要求补交两年物业费，但小区电梯长期故障、车位被占，我认为服务不到位。", amount="4200",
              respondent=("某物业服务有限公司", PartyKind.organisation, None))
    _step(c, "request_mediation", r1)

    c = _file(users, "朋友借款两万元到期不还", "loan_debt",
              "2023年3月借给李建国两万元，有借条，约定一年归还，至今未还。", amount="20000")
    _step(c, "request_mediation", r1)
    _step(c, "record_failure", c.mediator, "被申请人承认借款但拒绝提出还款计划，双方无法达成一致。")
    _file_with_court(c, r1, court)

    c = _file(users, "工地拖欠三个月工资", "labour_wages",
              "我在某建筑公司工地做木工，2024年9月至11月工资共计18600元一直被拖欠。", amount="18600",
              respondent=("某建筑工程有限公司", PartyKind.organisation, None))
    _step(c, "request_arbitration", r1)

    c = _file(users, "装修合同工期延误", "construction",
              "装修公司约定60天完工，实际拖延了45天，合同约定违约金每天100元。", amount="4500",
              respondent=("某装饰工程有限公司", PartyKind.organisation, None), arbitration_agreement=True)
    _step(c, "request_arbitration", r1)

    c = _file(users, "车位被邻居长期占用", "neighbour", "邻居长期把电动车停在我家车位上，多次劝说无效。")
    _step(c, "request_mediation", r1)
    _step(c, "record_settlement", c.mediator, "双方同意：李建国即日起不再占用车位，并向王秀英赔礼道歉。")

    c = _file(users, "网购家电质量问题", "consumer", "在本地电器店购买的空调安装一周就不制冷，商家拒绝退换。", amount="3200",
              respondent=("某电器商行", PartyKind.organisation, None))
    _step(c, "withdraw", r1, "商家已同意退货，撤回申请。")


# --- a fully signed agreement ---------------------------------------------------------------------
SIGNED_AGREEMENT_CASE = "车位被邻居长期占用"


def signed_agreement_case_id() -> int | None:
    """The demo case whose agreement is signed by both parties (typed signatures) and the mediator."""
    return db.session.scalar(sa.select(Case.id).where(Case.title == SIGNED_AGREEMENT_CASE).order_by(Case.id).limit(1))


def seed_signed_agreement() -> int | None:
    """Draft, send and sign (resident1, resident2, then the mediator) the agreement of the settled parking case,
    unless it already has one. The PDF is made when first asked for (no rendering while seeding)."""
    from datetime import timedelta

    from app.agreements import drafting, signing
    from app.agreements.models import Agreement
    from app.core.time import utcnow

    case = db.session.get(Case, signed_agreement_case_id() or 0)
    if case is None or case.mediator is None:
        return None
    if db.session.scalar(sa.select(Agreement.id).where(Agreement.case_id == case.id).limit(1)) is not None:
        return case.id
    due = (utcnow() + timedelta(days=7)).date().isoformat()
    terms = [
        {"clause": "remove_obstruction", "params": {"obligor": "respondent", "beneficiary": "applicant", "date": due,
                                                    "obstruction": "将停放在申请人车位上的电动车移走，今后不再占用该车位"}},
        {"clause": "apology", "params": {"apologiser": "respondent", "recipient": "applicant", "manner": "当面口头",
                                         "date": due}},
        {"clause": "confidentiality", "params": {}},
        {"clause": "default", "params": {"obligor": "respondent", "beneficiary": "applicant"}},
    ]
    data = drafting.DraftInput(terms=terms, **drafting.prefill_texts(case))
    agreement = drafting.save(case, case.mediator, data)
    drafting.send_for_signing(case, case.mediator)
    signers = [p.user for p in signing.party_signers(case)] + [case.mediator]
    for user in signers:
        signing.sign(case, user, agreement, method="typed", typed_name=user.display_name, image_png=None,
                     seen_hash=agreement.content_hash, ip_address="127.0.0.1", request_pdf=False)
    return case.id
