"""Routing benchmark on one core: classify + match a 300-character case against 1,000 mediators.

    python bench/routing.py [--cases 2000] [--mediators 1000]

Prints JSON lines; the last one holds p50_ms, p99_ms, cases_per_s, startup_s and jieba_mb.
The texts are made from sentences written for this benchmark (no data set is read).
"""
from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RULES = ROOT / "mediation_rules"
SENTENCES = [
    "老板拖欠我们三个月工资，一直说公司没钱", "邻居家装修噪音太大，晚上十点还在施工", "楼上卫生间漏水把我家天花板泡坏了",
    "房东不肯退押金，说墙面被弄脏了", "我借给朋友五万元，有借条，他一直拖着不还", "小区物业费涨价，业主都不同意",
    "在工地干活摔伤了腿，老板不给报工伤", "电动车在路口被小轿车撞倒，交警认定对方全责", "父亲年迈多病，几个子女互相推诿不给赡养费",
    "丈夫经常家暴，我想离婚并要孩子的抚养权", "奶奶去世后留下一套老房子，叔叔和我爸为遗产分割吵起来", "村里重新分地，我家的承包地被划给了别人",
    "宅基地边界和隔壁有争议，对方砌墙占了我家半米", "网购的手机是假货，商家拒绝退款", "在医院做完手术后伤口感染，怀疑医生处理不当",
    "孩子在学校课间被同学推倒骨折了", "旁边养猪场臭气熏天，污水流进我们的鱼塘", "拆迁补偿款分配不公平，安置房也迟迟不交",
    "两家因为停车位吵架，后来动手打了起来", "合伙开的饭店亏损，另一个股东要退股分钱", "装修公司工期拖了两个月，瓷砖还铺歪了",
    "买的二手车发动机有问题，卖家说合同里写了不退", "双方签了供货合同，对方收货后一直不付货款", "狗没拴绳把路过的老人咬伤了",
    "家里老人在超市门口滑倒摔伤，超市说不关他们的事", "我们几户人家都反映夜里工厂的噪声太大睡不着",
    "离職後公司不給經濟補償金", "My landlord won't return the deposit 押金", "请问这种情况怎么办？谢谢！",
]


def make_text(rng: random.Random, size: int = 300) -> str:
    """A resident's description of about `size` characters, mixing a few topics like real ones do."""
    parts: list[str] = []
    while sum(len(p) + 1 for p in parts) < size:
        parts.append(rng.choice(SENTENCES))
    return "。".join(parts)[:size]


def make_mediators(rng: random.Random, n: int):
    """n mediators in one county: 10 towns of 10 villages, all organisation types and tiers."""
    from app.routing import MediatorSnapshot
    from app.routing.types import MEDIATING_ORG_TYPES, TIERS

    ids = ["neighbour", "marriage_family", "labour_wages", "loan_debt", "traffic_accident", "property_management",
           "tenancy", "rural_land", "consumer", "medical", "construction", "work_injury", "demolition"]
    out = []
    for i in range(n):
        tier = rng.choice(TIERS)
        town, village = rng.randint(1, 10), rng.randint(1, 10)
        region = {"county": "340202", "town": f"340202{town:03d}", "village": f"340202{town:03d}{village:03d}"}[tier]
        capacity = rng.randint(5, 20)
        out.append(MediatorSnapshot(
            id=i + 1, name=f"调解员{i + 1}", organisation_id=i // 5 + 1, organisation_name=f"调解组织{i // 5 + 1}",
            org_type=rng.choice(MEDIATING_ORG_TYPES), tier=tier, region_code=region,
            specialties=tuple(rng.sample(ids, rng.randint(1, 3))),
            languages=("zh", "yue") if rng.random() < 0.1 else ("zh",), capacity=capacity,
            open_cases=rng.randint(0, capacity), available=rng.random() > 0.1,
            relatives=frozenset({f"亲属{rng.randint(1, 5000)}"}), employer=None))
    return out


STARTUP_CODE = """
import time, sys
t0 = time.perf_counter()
def rss():
    for line in open('/proc/self/status'):
        if line.startswith('VmRSS'):
            return int(line.split()[1]) / 1024
    return 0.0
before = rss()
import jieba, logging
jieba.setLogLevel(logging.WARNING)
jieba.initialize()
after_jieba = rss()
from app.routing.engine import load_engine
engine = load_engine(sys.argv[1])
engine.classify('老板拖欠工资三个月')
print(round(after_jieba - before, 1), round(rss() - before, 1), round(time.perf_counter() - t0, 3))
"""


def measure_startup() -> dict:
    """Start a fresh interpreter, load jieba, the rules and classify once: wall time and memory."""
    start = time.perf_counter()
    out = subprocess.run([sys.executable, "-c", STARTUP_CODE, str(RULES)], capture_output=True, text=True,
                         cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)}, check=True)
    wall = time.perf_counter() - start
    jieba_mb, engine_mb, in_process = out.stdout.split()
    return {"startup_s": round(wall, 3), "startup_in_process_s": float(in_process),
            "jieba_mb": float(jieba_mb), "jieba_and_engine_mb": float(engine_mb)}


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=2000)
    parser.add_argument("--mediators", type=int, default=1000)
    args = parser.parse_args()
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})   # one core
    sys.path.insert(0, str(ROOT))
    startup = measure_startup()
    from app.routing import CaseSnapshot, MediatorPool, load_engine

    engine = load_engine(RULES)
    rng = random.Random(3)
    mediators = make_mediators(rng, args.mediators)
    build_start = time.perf_counter()
    pool = MediatorPool.build(mediators)
    build_ms = (time.perf_counter() - build_start) * 1000
    texts = [make_text(rng) for _ in range(args.cases)]
    times: list[float] = []
    begin = time.perf_counter()
    for i, text in enumerate(texts):
        t0 = time.perf_counter()
        result = engine.classify(text)
        case = CaseSnapshot(id=i, text=text, category=result.top.id if result.top else None,
                            region_code=f"340202{i % 10 + 1:03d}{i % 7 + 1:03d}", party_user_ids=frozenset({i}),
                            party_names=frozenset({f"亲属{i}"}), language="zh")
        engine.match(case, pool)
        times.append((time.perf_counter() - t0) * 1000)
    total = time.perf_counter() - begin
    list_times = []
    for i, text in enumerate(texts[:200]):
        t0 = time.perf_counter()
        engine.match(CaseSnapshot(id=i, text=text, category="neighbour", region_code="340202001001"), mediators)
        list_times.append((time.perf_counter() - t0) * 1000)
    print(json.dumps({"pool_build_ms": round(build_ms, 3),
                      "match_from_list_p50_ms": round(statistics.median(list_times), 3),
                      "text_chars": 300, "mediators": args.mediators, "cases": args.cases}))
    print(json.dumps({"p50_ms": round(statistics.median(times), 3), "p99_ms": round(percentile(times, 0.99), 3),
                      "cases_per_s": round(args.cases / total, 1), **startup}))


if __name__ == "__main__":
    main()
