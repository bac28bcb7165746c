"""Time the assessment report PDF: render a 2-page report of a synthetic case through app/documents.

Prints human lines, then one JSON line: render_p50_ms, render_p99_ms (warm), first_ms (cold), pages, bytes.
Usage: python bench/assessment_pdf.py [N]"""
from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
from datetime import date
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def main(n: int = 30) -> None:
    from app import create_app
    from app.cases import assessment
    from app.cases.assessment_rules import current_assessment_rules
    from app.cases.rules import current_rules
    from app.documents import html_to_pdf, render_html

    app = create_app({"ENV_NAME": "testing", "SECRET_KEY": "bench-" + "x" * 40})
    with app.test_request_context("/"):
        rules = current_assessment_rules()
        past = [assessment.PastCase(Decimal(1_000 * i), "settled" if i % 3 else "withdrawn", 10 + i) for i in range(40)]
        facts = assessment.CaseFacts(id=1, title="退租后房东不退押金", category=current_rules().category("tenancy"),
                                     amount=Decimal(30_000), began_on=date(2023, 6, 1), learned_on=date(2023, 7, 1),
                                     has_arbitration_agreement=False, stage="在线评估", status="已评估")
        report = assessment.build_report(
            facts, rules, date(2026, 5, 20), classification={"words": ["押金", "房东"], "agrees": True,
                                                             "system_category": "房屋租赁纠纷", "confidence": 0.9,
                                                             "uncertain": False},
            similar=assessment.similar_summary(past, Decimal(30_000), rules),
            handler={"source": "preview", "organisation": "团结社区人民调解委员会", "tier": "村（社区）级", "reason": None})
        for row in report["similar"]["outcomes"] + report["similar"]["examples"]:
            row["label"] = row["outcome"]
        started = time.perf_counter()
        pdf = html_to_pdf(render_html("assessment/report_pdf.html", {"report": report}))
        first_ms = (time.perf_counter() - started) * 1000
        times = []
        for _ in range(n):
            started = time.perf_counter()
            pdf = html_to_pdf(render_html("assessment/report_pdf.html", {"report": report}))
            times.append((time.perf_counter() - started) * 1000)
    times.sort()
    with tempfile.NamedTemporaryFile(suffix=".pdf") as fh:
        fh.write(pdf)
        fh.flush()
        info = subprocess.run(["pdfinfo", fh.name], capture_output=True, text=True, check=False).stdout
    pages = int(next((line.split()[-1] for line in info.splitlines() if line.startswith("Pages:")), "0"))
    result = {"render_p50_ms": round(times[len(times) // 2], 1), "render_p99_ms": round(times[int(len(times) * .99)], 1),
              "first_ms": round(first_ms, 1), "pages": pages, "bytes": len(pdf), "runs": n}
    print(f"assessment report PDF: {pages} pages, {len(pdf)} bytes; cold {first_ms:.0f} ms, "
          f"warm p50 {result['render_p50_ms']} ms over {n} runs")
    print(json.dumps(result))


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 30)
