"""The world `flask seed-bulk` fills: six counties of 芜湖市 with mediation committees on three tiers and county trade
bodies, their mediators, the courts (with a filing clerk each) and arbitration bodies, residents who file; and what
the cases look like (category weights like the people's mediation statistics, titles, reasons, names)."""
from __future__ import annotations

import random
import secrets
from datetime import datetime, timedelta

import sqlalchemy as sa

from app.accounts.models import Organisation, OrgType, Role, Tier, User
from app.accounts.operations import hash_password
from app.extensions import db

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
    world["clerks"] = {code: _user(f"bulk_k{court.id}", _name(rng), Role.court_clerk, court, code)
                       for code, court in world["courts"].items()}
    world["filers"] = [_user(f"bulk_r{i}", _name(rng), Role.resident if i % 3 else Role.grid_worker, None,
                             "340202") for i in range(120)]
    db.session.flush()
    world["mediators"] = {oid: [u.id for u in users] for oid, users in world["mediators"].items()}
    world["filers"] = [u.id for u in world["filers"]]
    world["clerks"] = {code: u.id for code, u in world["clerks"].items()}
    for key in ("villages", "towns", "county", "trade", "courts"):
        world[key] = {k: o.id for k, o in world[key].items()}
    world["arbitration"], world["labour_arb"] = world["arbitration"].id, world["labour_arb"].id
    world["village_codes"] = sorted(world["villages"])
    return world


def _name(rng: random.Random) -> str:
    return rng.choice(SURNAMES) + "".join(rng.choice(GIVEN) for _ in range(rng.choice((1, 2, 2))))



# --- when cases are filed, and their personal data ------------------------------------------------------
DAY = 86400
YEARS_BACK = 3
EPOCH = datetime(2000, 1, 1)  # times are handled as float seconds since EPOCH (naive UTC) while generating


def _round_amount(raw: float) -> float:
    """Amounts as people state them: two significant figures (6,634.2 -> 6,600; 128,004 -> 130,000)."""
    digits = max(0, len(str(int(raw))) - 2)
    return float(round(int(raw), -digits))


def filing_times(rng: random.Random, now: datetime, count: int) -> list[float]:
    """`count` filing instants (seconds since EPOCH, ascending) over YEARS_BACK years: growth, fewer at weekends and
    around the Spring Festival, more before it, none in the future."""
    today = datetime(now.year, now.month, now.day)
    span = 365 * YEARS_BACK
    season = {1: 1.2, 2: 0.65, 3: 1.05, 4: 1.0, 5: 1.0, 6: 1.05, 7: 1.15, 8: 1.1, 9: 0.95, 10: 0.85, 11: 1.0, 12: 1.1}
    days, weights = [], []
    for back in range(span):
        day = today - timedelta(days=back)
        weights.append((0.45 + 0.55 * (1 - back / span)) * season[day.month] * (0.55 if day.weekday() >= 5 else 1))
        days.append((day - EPOCH).total_seconds() - 8 * 3600)  # Beijing midnight in UTC
    now_s = (now - EPOCH).total_seconds()
    starts = rng.choices(days, weights, k=count)
    return sorted(min(s + rng.uniform(0, 13 * 3600), now_s - rng.uniform(60, 7200)) for s in starts)


COMPANIES = 30_000
PHONES = 5_000


def pii_pools(rng: random.Random) -> dict[str, list[tuple[str, str]]]:
    """Encrypted phone numbers and credit codes with their blind indexes (app/core/crypto.py), made once per seed in
    the parent process and reused: `PHONES` applicants' phones drawn at random, and one unified social credit code
    per company (by its index). Synthetic data may repeat a ciphertext; real rows never do (a fresh nonce each)."""
    from app.core.crypto import blind_index, encrypt, keyring

    ring = keyring()
    alphabet = "0123456789ABCDEFGHJKLMNPQRTUWXY"  # the code's character set (no I, O, S, V, Z)
    phones = [f"13{rng.randint(100000000, 999999999)}" for _ in range(PHONES)]
    codes = ["91340200" + "".join(rng.choices(alphabet, k=10)) for _ in range(COMPANIES)]
    return {"phones": [(encrypt(p, "case_parties.phone", ring), blind_index("phone", p, ring)) for p in phones],
            "codes": [(encrypt(c, "case_parties.id_number", ring), blind_index("id_number", c, ring)) for c in codes]}
