"""`flask seed-bulk`: realistic synthetic cases, fast (PostgreSQL: COPY through psycopg; SQLite: executemany).

Six counties of 芜湖市 with mediation committees on three tiers plus county trade bodies, mediators, arbitration
bodies and courts (created once, by name); then N cases over the last three years (more recent ones weigh more,
fewer at weekends and around the Spring Festival, more labour cases before it), categories weighted like real
dispute statistics, one applicant and one respondent each (companies repeat: a few employers owe many workers), a
path through the funnel drawn per category (labour: arbitration before court; family: never arbitration), cut at
the present, so old cases are finished and recent ones are under way. Every event carries a valid hash chain
(`fast_canonical` gives byte-identical JSON to app.core.audit.canonical); closed cases are sometimes rated.
"""
from __future__ import annotations

import hashlib
import itertools
import json
import random
import secrets
import time
from datetime import datetime, timedelta

import sqlalchemy as sa

from app.accounts.models import Organisation, OrgType, Role, Tier, User
from app.accounts.operations import hash_password
from app.cases.models import GENESIS_HASH
from app.cases.rules import current_rules
from app.core.time import utcnow
from app.extensions import db

DAY = 86400
YEARS_BACK = 3
TS = "%Y-%m-%d %H:%M:%S.%f"

# --- what the data looks like -----------------------------------------------------------------------------------
COUNTIES = {  # county code: (name, [(town, [villages])])
    "340202": ("镜湖区", [("弋矶山街道", ["团结社区", "花津社区", "赭山社区"]), ("范罗山街道", ["长虹社区", "吉和社区"]),
                          ("天门山街道", ["荆山社区", "天门社区"])]),
    "340203": ("弋江区", [("中山南路街道", ["中南社区", "瑞丰社区"]), ("澛港街道", ["澛港社区", "永丰村"])]),
    "340207": ("鸠江区", [("湾里街道", ["官陡社区", "湾里社区"]), ("沈巷镇", ["沈巷村", "黄山村", "东塘村"])]),
    "340209": ("湾沚区", [("湾沚镇", ["南湖村", "易太村"]), ("六郎镇", ["六郎村", "官巷村"])]),
    "340210": ("繁昌区", [("繁阳镇", ["新东村", "横山村"]), ("孙村镇", ["孙村", "马坝村"])]),
    "340223": ("南陵县", [("籍山镇", ["城东村", "城西村"]), ("许镇镇", ["许镇村", "黄塘村", "前进村"])]),
}
COUNTY_WEIGHTS = (30, 18, 20, 11, 10, 11)
# Shares roughly like the people's mediation statistics (邻里、婚姻家庭、劳动、借贷 lead).
CATEGORY_WEIGHTS = {
    "neighbour": 180, "marriage_family": 110, "labour_wages": 95, "loan_debt": 85, "property_management": 70,
    "tenancy": 50, "contract": 55, "traffic_accident": 55, "consumer": 45, "maintenance_support": 40,
    "inheritance": 35, "rural_land": 40, "work_injury": 25, "personal_injury": 25, "medical": 15, "construction": 25,
    "company_business": 10, "demolition": 10, "environment": 8, "school": 8, "public_order": 12,
    "administrative": 3, "intellectual_property": 1, "criminal": 2,
}
TRADE = {"traffic_accident": "traffic", "labour_wages": "labour", "work_injury": "labour", "medical": "medical"}
COMPANY_RESPONDENTS = {"labour_wages", "work_injury", "property_management", "consumer", "construction", "medical",
                       "company_business", "contract", "demolition", "environment", "school"}
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤"
GIVEN = "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超兰霞平刚桂华建国志红玉萍文辉力斌宇浩凯鹏飞俊峰海云雪梅琳欣怡佳晨阳"
COMPANY_WORDS = ("建筑工程", "物业服务", "电子科技", "商贸", "餐饮管理", "家政服务", "装饰工程", "汽车销售", "物流",
                 "劳务派遣", "食品", "服装", "机械制造", "房地产开发", "教育咨询")
TEXTS = {  # category: (title templates, description templates); {a} is the amount
    "neighbour": (["楼上漏水泡坏天花板", "邻居堆放杂物堵塞楼道", "邻居养狗夜间狗叫扰民", "相邻宅基地排水沟纠纷"],
                  ["楼上卫生间漏水，多次沟通对方不愿维修，要求赔偿损失{a}元。", "邻居长期在楼道堆放杂物，影响通行和消防安全。"]),
    "marriage_family": (["离婚财产分割纠纷", "婚后家庭矛盾", "彩礼返还纠纷"],
                        ["双方感情破裂，就共同财产分割无法达成一致，涉及金额{a}元。", "订婚后解除婚约，要求返还彩礼{a}元。"]),
    "labour_wages": (["工地拖欠工资", "公司拖欠三个月工资", "离职后工资未结清"],
                     ["在公司工作期间被拖欠工资共计{a}元，多次讨要未果。", "公司以经营困难为由拖欠工资{a}元。"]),
    "loan_debt": (["借款到期不还", "朋友借钱不还"], ["借给对方{a}元，有借条，约定一年归还，至今未还。"]),
}
DEFAULT_TEXT = (["{c}纠纷", "关于{c}的纠纷", "{c}，请求调解"], ["因{c}与对方发生争议，涉及金额{a}元，协商未果，申请调解。"])
REASONS = {
    "auto_assign": ["按纠纷类型与所在地区自动匹配调解员。", "按擅长领域与当前案件量匹配。"],
    "assign_mediator": ["分派给熟悉此类纠纷的调解员。"],
    "record_settlement": ["双方达成调解协议，当场履行。", "双方同意分期履行，签订调解协议。", "被申请人同意赔偿，双方和解。"],
    "record_failure": ["双方分歧较大，无法达成一致。", "被申请人拒绝参加调解。"],
    "withdraw": ["双方已自行和解，撤回申请。", "申请人撤回申请。"],
    "issue_award": ["裁决被申请人支付拖欠款项。", "部分支持申请人的仲裁请求。"],
    "return_filing": ["起诉状缺少被告身份信息，请补正。", "证据材料不全，请补充后重新提交。"],
}


# --- the canonical JSON of an event, fast ---------------------------------------------------------------------
_QUOTED: dict = {None: "null"}


def _q(value: str | None) -> str:
    """A JSON string (or null) as canonical writes it; the few distinct values repeat, so they are remembered."""
    quoted = _QUOTED.get(value)
    if quoted is None:
        quoted = json.dumps(value, ensure_ascii=False)
        if len(_QUOTED) < 10_000:
            _QUOTED[value] = quoted
    return quoted


def fast_canonical(case_id: int, seq: int, actor_id: int | None, action: str, from_stage: str | None,
                   from_status: str | None, to_stage: str, to_status: str, reason: str | None, created_iso: str) -> str:
    """canonical(CaseEvent.payload()) as text, without building a dict (keys in sorted order)."""
    return (f'{{"action":{_q(action)},"actor_id":{"null" if actor_id is None else actor_id},"case_id":{case_id},'
            f'"created_at":"{created_iso}","from_stage":{_q(from_stage)},"from_status":{_q(from_status)},'
            f'"reason":{_q(reason)},"seq":{seq},"to_stage":{_q(to_stage)},"to_status":{_q(to_status)}}}')


# --- the world the cases happen in ------------------------------------------------------------------------------
class _Existing:
    """Organisations and users already there, by name and username: one query each, not one per row."""

    def __init__(self, pw: str):
        self.pw = pw
        self.orgs = {o.name: o for o in db.session.scalars(sa.select(Organisation))}
        self.users = {u.username: u for u in db.session.scalars(sa.select(User).where(User.username.like("bulk_%")))}

    def org(self, name: str, type_: OrgType, tier: Tier, region: str) -> Organisation:
        if name not in self.orgs:
            self.orgs[name] = Organisation(name=name, type=type_, tier=tier, region_code=region)
            db.session.add(self.orgs[name])
        return self.orgs[name]

    def user(self, username: str, name: str, role: Role, org: Organisation | None, region: str) -> User:
        if username not in self.users:
            self.users[username] = User(username=username, display_name=name, role=role, password_hash=self.pw,
                                        region_code=region, organisation=org)
            db.session.add(self.users[username])
        return self.users[username]


def build_world(rng: random.Random) -> dict:
    """Organisations and users for the bulk cases (idempotent): ids grouped the way the generator needs them."""
    have = _Existing(hash_password(secrets.token_urlsafe(16)))  # nobody logs in as a bulk user
    _org, _user = have.org, have.user
    world = {"villages": {}, "towns": {}, "county": {}, "trade": {}, "mediators": {}, "courts": {}, "filers": []}
    for code, (cname, towns) in COUNTIES.items():
        world["county"][code] = _org(f"{cname}人民调解委员会", OrgType.people_mediation, Tier.county, code)
        world["courts"][code] = _org(f"芜湖市{cname}人民法院", OrgType.court, Tier.county, code)
        for kind, label in (("traffic", "道路交通事故纠纷"), ("labour", "劳动争议"), ("medical", "医疗纠纷")):
            world["trade"][(code, kind)] = _org(f"{cname}{label}人民调解委员会", OrgType.trade_mediation, Tier.county, code)
        for t, (tname, villages) in enumerate(towns, 1):
            tcode = f"{code}{t:03d}"
            world["towns"][tcode] = _org(f"{cname}{tname}人民调解委员会", OrgType.people_mediation, Tier.town, tcode)
            for v, vname in enumerate(villages, 1):
                vcode = f"{tcode}{v:03d}"
                world["villages"][vcode] = _org(f"{cname}{tname}{vname}人民调解委员会", OrgType.people_mediation,
                                                Tier.village, vcode)
    world["arbitration"] = _org("芜湖仲裁委员会", OrgType.arbitration_commission, Tier.county, "340202")
    world["labour_arb"] = _org("芜湖市劳动人事争议仲裁委员会", OrgType.labour_arbitration, Tier.county, "3402")
    db.session.flush()
    orgs = [*world["county"].values(), *world["towns"].values(), *world["villages"].values(), *world["trade"].values()]
    for org in orgs:
        staff = 2 if org.tier == Tier.village else 4
        world["mediators"][org.id] = [
            _user(f"bulk_m{org.id}_{i}", _name(rng), Role.mediator, org, org.region_code) for i in range(staff)]
    world["filers"] = [_user(f"bulk_r{i}", _name(rng), Role.resident if i % 3 else Role.grid_worker, None,
                             "340202") for i in range(120)]
    db.session.flush()
    world["mediators"] = {oid: [u.id for u in users] for oid, users in world["mediators"].items()}
    world["filers"] = [u.id for u in world["filers"]]
    for key in ("villages", "towns", "county", "trade", "courts"):
        world[key] = {k: o.id for k, o in world[key].items()}
    world["arbitration"], world["labour_arb"] = world["arbitration"].id, world["labour_arb"].id
    world["village_codes"] = sorted(world["villages"])
    return world


def _name(rng: random.Random) -> str:
    return rng.choice(SURNAMES) + "".join(rng.choice(GIVEN) for _ in range(rng.choice((1, 2, 2))))


# --- one case's story -------------------------------------------------------------------------------------------
class Story:
    """Draws one case's path through the funnel; `steps` are (action, stage, status, seconds, actor, reason)."""

    def __init__(self, rng: random.Random, world: dict, rules, category: str, village: str, filer: int, t0: float):
        self.rng, self.world, self.rules, self.category, self.village = rng, world, rules, category, village
        self.cat = rules.category(category)
        self.filer, self.t = filer, t0
        self.steps: list[tuple] = []

    def step(self, action: str, stage: str, status: str, after_days: float, actor: int | None = None) -> None:
        self.t += after_days * DAY
        pool = REASONS.get(action)
        self.steps.append((action, stage, status, self.t, actor, self.rng.choice(pool) if pool else None))

    def tell(self) -> list[tuple]:
        r, u = self.rng, self.rng.uniform
        complete = r.random() < 0.78
        self.step("file", "assess" if complete else "consult", "assessed" if complete else "open", 0, self.filer)
        if not complete:
            roll = r.random()
            if roll < 0.4:
                self.step("resolve_at_consult", "closed", "resolved", u(0.02, 3), self.filer)
                return self.steps
            if roll < 0.5:
                self.step("withdraw", "closed", "withdrawn", u(5, 40), self.filer)
                return self.steps
            self.step("assess", "assess", "assessed", u(0.05, 4), self.filer)
        if not self.cat.mediable or r.random() < 0.05:
            self.step("withdraw", "closed", "withdrawn", u(1, 15), self.filer)
        elif self.cat.arbitration == "statutory" and r.random() < 0.15:
            self.arbitrate(u(0.5, 5))
        else:
            self.mediate()
        return self.steps

    def mediate(self) -> None:
        r, u = self.rng, self.rng.uniform
        self.step("request_mediation", "mediate", "awaiting_assignment", r.uniform(0.01, 6), self.filer)
        if r.random() < 0.12:  # the triage queue: an organisation admin assigns
            self.step("assign_mediator", "mediate", "in_progress", u(0.2, 3))
        else:
            self.step("auto_assign", "mediate", "in_progress", u(0.00005, 0.0005))
        labour = self.cat.group == "labour"
        limit = self.cat.mediation_time_limit_days
        roll = r.random()
        settle = 0.55 if labour else 0.68
        if roll < 0.012:  # stalled: nobody records an outcome (what the overdue list is for)
            return
        if roll < settle:
            self.step("record_settlement", "closed", "settled", u(1, limit * 1.15) if r.random() < 0.93
                      else u(limit, limit * 2), "mediator")
        elif roll < settle + 0.08:
            self.step("withdraw", "closed", "withdrawn", u(1, limit), self.filer)
        else:
            self.step("record_failure", "mediate", "failed", u(3, limit * 1.1), "mediator")
            self.after_failure()

    def after_failure(self) -> None:
        r, u, cat = self.rng, self.rng.uniform, self.cat
        if cat.arbitration == "statutory" and r.random() < 0.7:
            self.arbitrate(u(1, 12))
        elif cat.arbitration == "agreement" and r.random() < 0.08:
            self.arbitrate(u(1, 20))
        elif not cat.arbitration_before_litigation and r.random() < 0.45:
            self.litigate(u(2, 30))

    def arbitrate(self, after: float) -> None:
        r, u = self.rng, self.rng.uniform
        self.step("request_arbitration", "arbitrate", "filed", after, self.filer)
        self.step("accept_arbitration", "arbitrate", "accepted", u(1, 5))
        self.step("issue_award", "arbitrate", "awarded", u(20, 60))
        if self.cat.litigation_after_award and r.random() < 0.2:
            self.litigate(u(3, 15))
        else:
            self.step("conclude_award", "closed", "concluded", u(1, 15), self.filer)

    def litigate(self, after: float) -> None:
        r, u = self.rng, self.rng.uniform
        self.step("file_lawsuit", "litigate", "filed", after, self.filer)
        if r.random() < 0.2:
            self.step("return_filing", "litigate", "returned", u(1, 7))
            if r.random() < 0.3:
                return
            self.step("resubmit_filing", "litigate", "filed", u(3, 20), self.filer)
        self.step("accept_filing", "litigate", "accepted", u(1, 7))


# --- rows -------------------------------------------------------------------------------------------------------
class Generator:
    """Rows for cases, parties, events and ratings, as tuples in the column orders of COLUMNS."""

    def __init__(self, rng: random.Random, world: dict, now: datetime, rules):
        self.rng, self.world, self.now, self.rules = rng, world, now, rules
        self.epoch = datetime(2000, 1, 1)
        self.now_s = (now - self.epoch).total_seconds()
        cats = [c for c in CATEGORY_WEIGHTS if self.rules.category(c)]
        self.categories, self.cat_weights = cats, [CATEGORY_WEIGHTS[c] for c in cats]
        counties = list(COUNTIES)
        self.villages_by_county = {c: [v for v in world["village_codes"] if v.startswith(c)] for c in counties}
        self.counties = counties
        self.days, self.day_weights = self._calendar()
        self.companies = [f"芜湖{rng.choice(SURNAMES)}{rng.choice(GIVEN)}{rng.choice(COMPANY_WORDS)}有限公司"
                          for _ in range(3000)]
        # Repeat respondents: company i is picked with weight 1/(i+10) (a few employers owe many workers).
        self.company_cum = list(itertools.accumulate(1 / (i + 10) for i in range(len(self.companies))))
        self.people = [_name(rng) for _ in range(20000)]

    def _calendar(self) -> tuple[list[float], list[float]]:
        """Day starts (seconds) over YEARS_BACK years with growth, weekly and yearly seasonality."""
        today = datetime(self.now.year, self.now.month, self.now.day)
        span = 365 * YEARS_BACK
        season = {1: 1.2, 2: 0.65, 3: 1.05, 4: 1.0, 5: 1.0, 6: 1.05, 7: 1.15, 8: 1.1, 9: 0.95, 10: 0.85, 11: 1.0,
                  12: 1.1}
        days, weights = [], []
        for back in range(span):
            day = today - timedelta(days=back)
            weights.append((0.45 + 0.55 * (1 - back / span)) * season[day.month] * (0.55 if day.weekday() >= 5 else 1))
            days.append((day - self.epoch).total_seconds() - 8 * 3600)  # Beijing midnight in UTC
        return days, weights

    def iso(self, seconds: float) -> str:
        """The database's text of a time (space-separated, microseconds; canonical JSON has a T instead)."""
        return (self.epoch + timedelta(seconds=seconds)).isoformat(sep=" ", timespec="microseconds")

    def chunk(self, first_case: int, n: int) -> dict:
        """Rows of n cases with ids from first_case (parties, events and ratings take their ids from sequences)."""
        rng, world = self.rng, self.world
        out = {"cases": [], "case_parties": [], "case_events": [], "satisfaction_ratings": []}
        ids: dict = {}
        cats = rng.choices(self.categories, self.cat_weights, k=n)
        counties = rng.choices(self.counties, COUNTY_WEIGHTS, k=n)
        starts = rng.choices(self.days, self.day_weights, k=n)
        filers = world["filers"]
        for i in range(n):
            t0 = min(starts[i] + rng.uniform(0, 13 * 3600), self.now_s - rng.uniform(60, 7200))
            village = rng.choice(self.villages_by_county[counties[i]])
            self.case(first_case + i, cats[i], village, rng.choice(filers), t0, out, ids)
        return out

    def case(self, case_id: int, category: str, village: str, filer: int, t0: float, out: dict, ids: dict) -> None:
        rng, world = self.rng, self.world
        steps = [s for s in Story(rng, world, self.rules, category, village, filer, t0).tell() if s[3] <= self.now_s]
        county = village[:6]
        state = {"org": None, "mediator": None, "arb": None, "court": None, "number": None, "closed": None,
                 "started": None, "due": None, "arb_agreement": False}
        prev, stage, status = GENESIS_HASH, None, None
        events = out["case_events"]
        for seq, (action, to_stage, to_status, t, actor, reason) in enumerate(steps, 1):
            self.effect(action, to_stage, t, category, village, state)
            if actor == "mediator":
                actor = state["mediator"]
            iso = self.iso(t)
            text = fast_canonical(case_id, seq, actor, action, stage, status, to_stage, to_status, reason,
                                  iso.replace(" ", "T"))
            digest = hashlib.sha256((prev + text).encode("utf-8")).hexdigest()
            events.append((case_id, seq, actor, action, stage, status, to_stage, to_status, reason,
                           iso, prev, digest))
            prev, stage, status = digest, to_stage, to_status
        reached_assess = any(s[1] not in ("consult", "closed") for s in steps)
        if not reached_assess and rng.random() < 0.5:
            category = None
        label = self.rules.category(category).zh if category else "咨询"
        titles, texts = TEXTS.get(category, DEFAULT_TEXT)
        amount = float(int(rng.lognormvariate(8.8, 1.0))) if rng.random() < 0.65 else None
        fill = {"a": int(amount or 5000), "c": label}
        created, updated = self.iso(t0), self.iso(steps[-1][3])
        out["cases"].append((
            case_id, rng.choice(titles).format(**fill), stage, status, category, amount,
            rng.choice(texts).format(**fill), village, state["arb_agreement"], filer, state["org"], state["mediator"],
            state["arb"], state["court"], state["number"], created, updated, state["closed"], state["started"],
            state["due"], 1))
        self.parties(case_id, category, village, out, ids)
        if state["closed"] and rng.random() < 0.35:
            self.rating(case_id, filer, status, steps[-1][3], out, ids)

    def effect(self, action: str, to_stage: str, t: float, category: str, village: str, state: dict) -> None:
        """The columns a step fills in (the CHECK constraints of its target stage)."""
        rng, world = self.rng, self.world
        if action == "request_mediation":
            trade = TRADE.get(category)
            roll = rng.random()
            if trade:
                state["org"] = world["trade"][(village[:6], trade)]
            else:
                key = ("villages", village) if roll < 0.7 else ("towns", village[:9]) if roll < 0.9 else ("county",
                                                                                                      village[:6])
                state["org"] = world[key[0]][key[1]]
        elif action in ("auto_assign", "assign_mediator"):
            state["mediator"] = rng.choice(world["mediators"][state["org"]])
            if state["started"] is None:
                state["started"] = self.iso(t)
                limit = self.rules.category(category).mediation_time_limit_days
                state["due"] = ((self.epoch + timedelta(seconds=t + 8 * 3600)).date()
                                + timedelta(days=limit)).isoformat()
        elif action == "request_arbitration":
            labour = self.rules.category(category).arbitration == "statutory"
            state["arb"] = world["labour_arb"] if labour else world["arbitration"]
            state["arb_agreement"] = not labour
        elif action == "file_lawsuit":
            state["court"] = world["courts"][village[:6]]
        elif action == "accept_filing":
            year = (self.epoch + timedelta(seconds=t)).year
            state["number"] = f"（{year}）皖{village[2:6]}民初{rng.randint(1, 99999)}号"
        if to_stage == "closed":
            state["closed"] = self.iso(t)

    def parties(self, case_id: int, category: str | None, village: str, out: dict, ids: dict) -> None:
        rng, rows = self.rng, out["case_parties"]
        company = category in COMPANY_RESPONDENTS and rng.random() < 0.85
        respondent = (rng.choices(self.companies, cum_weights=self.company_cum)[0] if company
                      else rng.choice(self.people))
        rows.append((case_id, "applicant", "person", rng.choice(self.people),
                     f"13{rng.randint(100000000, 999999999)}", village, None))
        rows.append((case_id, "respondent", "organisation" if company else "person", respondent,
                     None, village, None))

    def rating(self, case_id: int, filer: int, status: str, closed_s: float, out: dict, ids: dict) -> None:
        rng = self.rng
        at = closed_s + rng.uniform(0.05, 10) * DAY
        if at > self.now_s:
            return
        weights = (2, 3, 10, 35, 50) if status == "settled" else (10, 15, 25, 30, 20)
        score = rng.choices((1, 2, 3, 4, 5), weights)[0]
        out["satisfaction_ratings"].append((case_id, filer, score, self.iso(at)))


# --- writing ----------------------------------------------------------------------------------------------------
COLUMNS = {
    "cases": ("id", "title", "stage", "status", "category", "amount", "description", "region_code",
              "has_arbitration_agreement", "filed_by_id", "organisation_id", "mediator_id", "arbitration_body_id",
              "court_id", "court_case_number", "created_at", "updated_at", "closed_at", "mediation_started_at",
              "mediation_due_on", "version"),
    "case_parties": ("case_id", "role", "kind", "name", "phone", "region_code", "user_id"),
    "case_events": ("case_id", "seq", "actor_id", "action", "from_stage", "from_status", "to_stage",
                    "to_status", "reason", "created_at", "prev_hash", "hash"),
    "satisfaction_ratings": ("case_id", "user_id", "score", "created_at"),
}
CHUNK = 20_000


def _copy_text(rows: list) -> str:
    """Rows in COPY's text format. Generated text never holds tabs, newlines or backslashes: nothing to escape."""
    return "".join("\t".join("\\N" if v is None else "t" if v is True else "f" if v is False else str(v) for v in row)
                   + "\n" for row in rows)


def _write(conn, table: str, rows: list | str) -> None:
    if not rows:
        return
    cols = ", ".join(COLUMNS[table])
    raw = conn.connection.driver_connection
    if conn.dialect.name == "postgresql":
        with raw.cursor() as cur, cur.copy(f"COPY {table} ({cols}) FROM STDIN") as copy:
            copy.write(rows if isinstance(rows, str) else _copy_text(rows))
    else:
        marks = ", ".join("?" * len(COLUMNS[table]))
        raw.cursor().executemany(f"INSERT INTO {table} ({cols}) VALUES ({marks})", rows)


def _skip_foreign_key_triggers(conn) -> None:
    """The rows are consistent by construction (ids we hand out, users and organisations we just read): as a
    superuser, skip the per-row foreign-key triggers for this transaction (SET LOCAL), which cost most of the load
    time. CHECK constraints still apply. Without the privilege the triggers simply run."""
    if conn.execute(sa.text("SELECT rolsuper FROM pg_roles WHERE rolname = current_user")).scalar():
        conn.execute(sa.text("SET LOCAL session_replication_role = replica"))


# Worker processes (fork) generate chunks in parallel; each chunk's random stream depends only on (seed, chunk).
_JOB: dict = {}


def _chunk_rows(k: int) -> dict:
    job = _JOB
    gen = job.get("generator")
    if gen is None:
        gen = job["generator"] = Generator(random.Random(job["seed"]), job["world"], job["now"], job["rules"])
    gen.rng = random.Random(job["seed"] * 1_000_003 + k)
    first = job["first_case"] + k * CHUNK
    rows = gen.chunk(first, min(CHUNK, job["count"] - k * CHUNK))
    return {t: _copy_text(r) for t, r in rows.items()} if job["pg"] else rows


def _chunks(count: int, processes: int):
    ks = range((count + CHUNK - 1) // CHUNK)
    if processes <= 1 or len(ks) < 2:
        yield from map(_chunk_rows, ks)
        return
    import multiprocessing

    with multiprocessing.get_context("fork").Pool(processes) as pool:
        yield from pool.imap_unordered(_chunk_rows, ks)


REBUILD_INDEXES_FROM = 100_000  # cases: from this many, indexes are rebuilt once after the load (faster than kept)


def _drop_secondary_indexes(conn) -> list[str]:
    """Drop the plain indexes of the tables being loaded (not those behind primary keys or unique constraints) and
    return the statements that recreate them, run before the same transaction commits."""
    rows = conn.execute(sa.text(
        "SELECT i.indexname, i.indexdef FROM pg_indexes i WHERE i.schemaname = current_schema() "
        "AND i.tablename = ANY(:tables) AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conname = i.indexname)"),
        {"tables": list(COLUMNS)}).all()
    for name, _definition in rows:
        conn.execute(sa.text(f'DROP INDEX "{name}"'))
    conn.execute(sa.text("SET LOCAL maintenance_work_mem = '512MB'"))
    return [definition for _name, definition in rows]


def seed_bulk(count: int, seed: int = 1, processes: int | None = None) -> dict:
    """Add `count` synthetic cases with their parties, events and ratings; commit; return counts and the rate."""
    import os

    rng = random.Random(seed)
    world = build_world(rng)
    db.session.commit()
    conn = db.session.connection()
    pg = conn.dialect.name == "postgresql"
    if pg:  # nobody else adds rows meanwhile: the ids are ours
        conn.execute(sa.text(f"LOCK TABLE {', '.join(COLUMNS)} IN SHARE ROW EXCLUSIVE MODE"))
        _skip_foreign_key_triggers(conn)
    first = (conn.execute(sa.text("SELECT MAX(id) FROM cases")).scalar() or 0) + 1
    _JOB.clear()
    _JOB.update(seed=seed, world=world, now=utcnow(), rules=current_rules(), first_case=first, count=count, pg=pg)
    totals = dict.fromkeys(COLUMNS, 0)
    started = time.perf_counter()
    processes = processes if processes is not None else (os.cpu_count() or 1) if pg else 1
    rebuild = _drop_secondary_indexes(conn) if pg and count >= REBUILD_INDEXES_FROM else []
    for rows in _chunks(count, processes):
        for table in COLUMNS:
            _write(conn, table, rows[table])
            totals[table] += rows[table].count("\n") if isinstance(rows[table], str) else len(rows[table])
    for statement in rebuild:
        conn.execute(sa.text(statement))
    if pg:
        conn.execute(sa.text("SELECT setval(pg_get_serial_sequence('cases', 'id'), :v)"), {"v": first + count - 1})
    db.session.commit()
    seconds = time.perf_counter() - started
    if pg:
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as auto:
            auto.execute(sa.text(f"ANALYZE {', '.join(COLUMNS)}"))
    return {"cases": count, "parties": totals["case_parties"], "events": totals["case_events"],
            "ratings": totals["satisfaction_ratings"], "seconds": seconds, "rate": count / seconds,
            "backend": conn.dialect.name}
