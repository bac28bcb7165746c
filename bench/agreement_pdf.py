"""Time the signed agreement PDF: render a 2-page 人民调解协议书 through app/documents (warm), sign it with pyHanko
(PAdES B-B, invisible, EC P-256 key from a throwaway development CA) and validate the signature.

Prints human lines, then one JSON line: render_p50_ms, render_p99_ms, first_ms (cold), sign_ms, sign_p99_ms,
verify_ms, verify_p99_ms (p50s unless said), peak_rss_mb (ru_maxrss of this process), pages, bytes, runs.
Targets (issue 6): render p50 <= 200 ms, peak <= 250 MB, sign <= 100 ms, verify <= 50 ms.
Usage: python bench/agreement_pdf.py [N]"""
from __future__ import annotations

import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

TERMS = [
    "被申请人李建国于2026年12月31日前一次性向申请人王秀英支付维修费及损失赔偿共计人民币伍仟元整（¥5,000.00）。",
    "被申请人于2026年12月15日前委托有资质的施工单位重做卫生间防水层，并在完工后做闭水试验48小时，申请人予以配合。",
    "被申请人就漏水给申请人生活造成的不便，当面向申请人赔礼道歉。",
    "双方对本协议内容负有保密义务，不得向无关人员散布对方的个人信息。",
    "被申请人未按期足额履行第一项付款义务的，申请人可以就未付部分向人民法院申请强制执行，被申请人并承担由此产生的费用。",
    "本协议履行完毕后，双方就本次漏水纠纷再无其他争议。",
]


def agreement_data(seal: str | None) -> dict:
    """pdf_data() as app.agreements.content returns it, for a typical neighbour dispute (two pages)."""
    signatures = [{"role": role, "name": name, "method": "typed", "image": None, "signed_at": at}
                  for role, name, at in (("申请人", "王秀英", "2026-11-30 19:40"), ("被申请人", "李建国", "2026-11-30 19:52"),
                                         ("调解员", "张明华", "2026-11-30 20:05"))]
    return {
        "title": "人民调解协议书", "number": "解纷调字〔2026〕第12号",
        "organisation": {"name": "团结社区人民调解委员会", "seal_png": seal},
        "case": {"id": 12, "title": "楼上漏水殃及我家天花板"},
        "parties": [{"role": "申请人", "name": "王秀英", "kind": "个人", "id_number": "340202195503121246",
                     "phone": "13905531234", "address": "安徽省芜湖市镜湖区团结社区3栋201室"},
                    {"role": "被申请人", "name": "李建国", "kind": "个人", "id_number": "340202196008230417",
                     "phone": "13905539876", "address": "安徽省芜湖市镜湖区团结社区3栋301室"}],
        "facts": ("申请人王秀英与被申请人李建国系上下楼邻居。2026年8月起，被申请人家卫生间防水层老化漏水，致申请人家卫生间"
                  "及客厅天花板发霉、墙皮脱落。申请人多次上门协商未果，遂申请调解。争议事项：漏水责任的承担、维修费用及赔偿数额。") * 2,
        "responsibility": "被申请人对其房屋卫生间防水层疏于维护，对漏水造成的损失承担全部责任；申请人对损失扩大无过错。",
        "terms": TERMS + TERMS[:3],
        "performance": ("付款方式：银行转账至申请人指定账户。履行地点：芜湖市镜湖区团结社区。履行期限：第一项于2026年12月31日前，"
                        "第二项于2026年12月15日前，第三项于本协议签订之日起三日内。"),
        "mediator": {"name": "张明华"}, "signatures": signatures, "signed_on": "2026年11月30日",
        "content_hash": "9f2c" * 16, "version": 1, "agreement_id": 12}


def p(values: list[float], q: float) -> float:
    values = sorted(values)
    return round(values[min(len(values) - 1, int(len(values) * q))], 1)


def timed(func, n: int) -> tuple[list[float], object]:
    times, out = [], None
    for _ in range(n):
        started = time.perf_counter()
        out = func()
        times.append((time.perf_counter() - started) * 1000)
    return times, out


def main(n: int = 30) -> None:
    from app import create_app

    with tempfile.TemporaryDirectory() as tmp:
        app = create_app({"ENV_NAME": "testing", "SECRET_KEY": "bench-" + "x" * 40,
                          "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp}/bench.db", "AGREEMENT_PKI_DIR": f"{tmp}/pki"})
        with app.test_request_context("/"):
            from app.agreements import pki
            from app.agreements.content import seal_data_uri
            from app.agreements.pdf import render_content, sign_pdf
            from app.agreements.verify import Verdict, check_signatures

            data = agreement_data(seal_data_uri("团结社区人民调解委员会"))
            started = time.perf_counter()
            pdf = render_content(data)
            first_ms = (time.perf_counter() - started) * 1000
            render_times, pdf = timed(lambda: render_content(data), n)
            signer = pki.signer_for(None)
            sign_pdf(pdf, signer)  # warm: pyHanko's imports
            sign_times, signed = timed(lambda: sign_pdf(pdf, signer), n)

            def verify() -> Verdict:
                verdict = Verdict(sha256="")
                check_signatures(signed, verdict)
                return verdict

            verify()
            verify_times, verdict = timed(verify, n)
            assert verdict.signature_ok, verdict
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    with tempfile.NamedTemporaryFile(suffix=".pdf") as fh:
        fh.write(signed)
        fh.flush()
        info = subprocess.run(["pdfinfo", fh.name], capture_output=True, text=True, check=False).stdout
    pages = int(next((line.split()[-1] for line in info.splitlines() if line.startswith("Pages:")), "0"))
    result = {"render_p50_ms": p(render_times, .5), "render_p99_ms": p(render_times, .99),
              "first_ms": round(first_ms, 1),
              "sign_ms": p(sign_times, .5), "sign_p99_ms": p(sign_times, .99),
              "verify_ms": p(verify_times, .5), "verify_p99_ms": p(verify_times, .99),
              "peak_rss_mb": round(peak_mb, 1), "pages": pages, "bytes": len(signed), "runs": n}
    print(f"agreement PDF: {pages} pages, {len(signed)} bytes signed; render cold {first_ms:.0f} ms, "
          f"warm p50 {result['render_p50_ms']} ms (target 200)")
    print(f"PAdES B-B invisible signature (EC P-256): p50 {result['sign_ms']} ms (target 100); "
          f"validation p50 {result['verify_ms']} ms (target 50)")
    print(f"peak RSS {result['peak_rss_mb']} MB (target 250), {n} runs each")
    print(json.dumps(result))


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 30)
