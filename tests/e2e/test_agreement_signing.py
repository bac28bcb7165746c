"""Signing the agreement on a phone: the applicant draws a signature on the canvas with touch-like strokes, enters the
password and signs; the stored signature is the drawing (re-encoded PNG) and the page shows it."""
from __future__ import annotations

import io

import sqlalchemy as sa
from PIL import Image

from app.agreements.models import Agreement, AgreementSignature
from app.extensions import db
from tests.agreements.test_drafting import sent_case


def test_the_applicant_draws_a_signature_and_signs(app, make_web, demo, page, login, browser_problems, artifacts):
    case_id, *_ = sent_case(app, make_web)
    login("resident1")
    assert page.goto(f"/cases/{case_id}/agreement").status == 200
    page.check("input[name=method][value=drawn]")
    canvas = page.locator("#signature-canvas")
    canvas.scroll_into_view_if_needed()
    box = canvas.bounding_box()
    x0, y0 = box["x"] + box["width"] * 0.15, box["y"] + box["height"] * 0.55
    page.mouse.move(x0, y0)
    page.mouse.down()
    for i in range(1, 25):  # a wavy stroke, as a finger would write
        page.mouse.move(x0 + i * box["width"] * 0.03, y0 + (12 if i % 2 else -12))
    page.mouse.up()
    page.fill("#typed_name", "王秀英")
    page.fill("#password", "jiefen-demo")
    page.screenshot(path=str(artifacts / "agreement-sign-phone.png"), full_page=True)
    with page.expect_navigation():
        page.get_by_role("button", name="确认签署").click()
    assert page.locator("img.signature-image").count() >= 1
    with app.app_context():
        [row] = db.session.scalars(sa.select(AgreementSignature).join(Agreement)
                                   .where(Agreement.case_id == case_id)).all()
        assert row.method == "drawn" and row.typed_name == "王秀英"
        drawing = Image.open(io.BytesIO(row.image_png))
        assert drawing.format == "PNG" and drawing.getchannel("A").getbbox() is not None  # the strokes are there
        db.session.remove()
    assert browser_problems.all() == []
