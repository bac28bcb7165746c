"""Portable case bundles: export, import with every hash and every evidence file's content checked, refusals,
`flask cases list`."""
from __future__ import annotations

import hashlib
import io
import json
import zipfile

import pytest
import sqlalchemy as sa

from app.cases.models import Case, Stage
from tests.cases.test_evidence_names import MP3, PDF
from tests.cases.test_iso_media import FTYP_THEN_GARBAGE, M4A, MP4
from tests.test_permissions import EVIDENCE_NAME, PNG, TITLE, upload_evidence


@pytest.fixture()
def runner(app):
    from app.cases.bundle_cli import cases_cli

    if "cases" not in app.cli.commands:  # until app/__init__.py registers it
        app.cli.add_command(cases_cli)
    return app.test_cli_runner()


@pytest.fixture()
def bundle_path(app, demo, make_web, runner, tmp_path):
    """The demo case TITLE, with one evidence file uploaded through the web, exported to a zip."""
    upload_evidence(app, make_web)
    with app.app_context():
        from app.extensions import db

        case_id = db.session.scalar(sa.select(Case.id).where(Case.title == TITLE))
        db.session.remove()
    out = tmp_path / "case.zip"
    result = runner.invoke(args=["cases", "export-bundle", str(case_id), str(out)])
    assert result.exit_code == 0, result.output
    return out, case_id


def case_count(app) -> int:
    from app.extensions import db

    with app.app_context():
        n = db.session.scalar(sa.select(sa.func.count()).select_from(Case))
        db.session.remove()
        return n


def rewrite(src, dst, change):
    """Copy the zip src to dst, passing each (name, bytes) through change (which may return None to drop)."""
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w") as zout:
        for info in zin.infolist():
            out = change(info.filename, zin.read(info))
            if out is not None:
                zout.writestr(info.filename, out)
    return dst


def test_export_then_import_recreates_the_case(app, bundle_path, runner):
    from app.extensions import db

    path, source_id = bundle_path
    with zipfile.ZipFile(path) as zf:
        manifest = json.loads(zf.read("manifest.json"))
        assert manifest["format"] == "jiefen-case-bundle" and manifest["version"] == 2
        assert manifest["case"]["source_id"] == source_id
        assert set(manifest["files"]) == set(zf.namelist()) - {"manifest.json"}
        [ev] = manifest["evidence"]
        assert ev["original_name"] == EVIDENCE_NAME and ev["path"].startswith("evidence/1-")
    before = case_count(app)
    result = runner.invoke(args=["cases", "import-bundle", str(path)])
    assert result.exit_code == 0, result.output
    new_id = int(result.output.strip().splitlines()[-1])
    assert new_id != source_id and case_count(app) == before + 1
    with app.app_context():
        from app.core.storage import storage

        old, new = db.session.get(Case, source_id), db.session.get(Case, new_id)
        assert new.title == old.title and (new.stage, new.status) == (old.stage, old.status)
        assert [(p.role, p.name, p.phone, p.user_id) for p in new.parties] == \
            [(p.role, p.name, p.phone, p.user_id) for p in old.parties]
        assert len(new.events) == len(old.events) + 1
        assert [(e.action, e.reason, e.created_at, e.actor_id) for e in new.events[:-1]] == \
            [(e.action, e.reason, e.created_at, e.actor_id) for e in old.events]
        last = new.events[-1]
        manifest_sha = hashlib.sha256(zipfile.ZipFile(path).read("manifest.json")).hexdigest()
        assert last.action == "imported" and last.reason == f"bundle {manifest_sha} from case {source_id}"
        [old_ev], [new_ev] = old.evidence, new.evidence
        assert new_ev.storage_key != old_ev.storage_key
        with storage().open(new_ev.storage_key) as fh:
            assert hashlib.sha256(fh.read()).hexdigest() == old_ev.sha256 == new_ev.sha256
        db.session.remove()
    result = runner.invoke(args=["audit", "verify"])
    assert result.exit_code == 0 and "OK" in result.output, result.output


def test_one_changed_byte_in_evidence_is_refused_naming_the_file(app, bundle_path, runner, tmp_path):
    path, _ = bundle_path
    with zipfile.ZipFile(path) as zf:
        evidence_path = json.loads(zf.read("manifest.json"))["evidence"][0]["path"]

    def flip(name, data):
        if name != evidence_path:
            return data
        return data[:-1] + bytes([data[-1] ^ 1])

    bad = rewrite(path, tmp_path / "bad.zip", flip)
    before = case_count(app)
    result = runner.invoke(args=["cases", "import-bundle", str(bad)])
    assert result.exit_code != 0
    assert evidence_path in result.output and "SHA-256" in result.output and "校验值不符" in result.output
    assert case_count(app) == before


def test_a_tampered_event_reason_is_refused(app, bundle_path, runner, tmp_path):
    path, _ = bundle_path

    def tamper(name, data):
        if name != "manifest.json":
            return data
        manifest = json.loads(data)
        manifest["events"][0]["reason"] = "篡改后的内容"
        return json.dumps(manifest, ensure_ascii=False).encode("utf-8")

    bad = rewrite(path, tmp_path / "bad.zip", tamper)
    before = case_count(app)
    result = runner.invoke(args=["cases", "import-bundle", str(bad)])
    assert result.exit_code != 0
    assert "event seq 1" in result.output and "altered" in result.output and "篡改" in result.output
    assert case_count(app) == before


@pytest.mark.parametrize("name", ["../evil", "/etc/evil", "evidence/../../evil"])
def test_path_traversal_is_refused(app, bundle_path, runner, tmp_path, name):
    path, _ = bundle_path
    bad = tmp_path / "evil.zip"
    rewrite(path, bad, lambda n, d: d)
    with zipfile.ZipFile(bad, "a") as zf:
        zf.writestr(zipfile.ZipInfo(name), b"x")
    before = case_count(app)
    result = runner.invoke(args=["cases", "import-bundle", str(bad)])
    assert result.exit_code != 0 and "unsafe path" in result.output and name in result.output
    assert case_count(app) == before


def test_an_unlisted_file_is_refused(app, bundle_path, runner, tmp_path):
    path, _ = bundle_path
    bad = tmp_path / "extra.zip"
    rewrite(path, bad, lambda n, d: d)
    with zipfile.ZipFile(bad, "a") as zf:
        zf.writestr("evidence/extra.png", b"x")
    result = runner.invoke(args=["cases", "import-bundle", str(bad)])
    assert result.exit_code != 0 and "not listed in the manifest: evidence/extra.png" in result.output


def test_a_bundle_of_another_format_or_version_is_refused(app, ctx):
    from app.cases.bundle import BundleError, read_bundle

    for manifest in ({"format": "other"}, {"format": "jiefen-case-bundle", "version": 3, "files": {}}):
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w") as zf:
            zf.writestr("manifest.json", json.dumps(manifest))
        with pytest.raises(BundleError):
            read_bundle(buf.getvalue())


def test_cases_list_by_stage(app, demo, runner):
    from app.extensions import db

    with app.app_context():
        at_mediate = sa.select(Case.id).where(Case.stage == Stage.mediate).order_by(Case.id)
        expected = db.session.scalars(at_mediate).all()
        every = db.session.scalars(sa.select(Case.id).order_by(Case.id)).all()
        db.session.remove()
    assert expected
    result = runner.invoke(args=["cases", "list", "--stage", "mediate"])
    assert result.exit_code == 0 and result.output.split() == [str(i) for i in expected]
    assert runner.invoke(args=["cases", "list"]).output.split() == [str(i) for i in every]


def test_export_of_a_missing_case_fails(app, demo, runner, tmp_path):
    result = runner.invoke(args=["cases", "export-bundle", "999999", str(tmp_path / "x.zip")])
    assert result.exit_code != 0 and "does not exist" in result.output


def test_every_demo_case_round_trips(app, demo):
    """Every demo stage (with its organisations, court numbers, agreements) exports and imports; chains verify."""
    from app.cases.bundle import export_bundle, import_bundle
    from app.cases.operations import verify_chain
    from app.core.storage import storage
    from app.extensions import db

    with app.app_context():
        ids = db.session.scalars(sa.select(Case.id).order_by(Case.id)).all()
        for case_id in ids:
            case = db.session.get(Case, case_id)
            new = import_bundle(export_bundle(case, storage()), storage())
            assert (new.title, new.stage, new.status) == (case.title, case.stage, case.status)
            assert len(new.events) == len(case.events) + 1 and len(new.evidence) == len(case.evidence)
        db.session.commit()
        checked, broken = verify_chain()
        assert broken is None and checked > 0
        db.session.remove()


def test_a_version_1_bundle_still_imports_and_verifies(app, bundle_path, runner, tmp_path):
    """Version 1 had no reason digests: its events' reasons are in the chain itself."""
    from app.cases.operations import verify_chain
    from app.core.audit import GENESIS, chain_hash
    from app.extensions import db

    path, source_id = bundle_path

    def as_version_1(name, data):
        if name != "manifest.json":
            return data
        manifest = json.loads(data)
        manifest["version"], prev = 1, GENESIS
        for event in manifest["events"]:
            event.pop("reason_salt"), event.pop("reason_digest")
            actor = event["actor"]
            payload = {"case_id": source_id, "seq": event["seq"], "actor_id": actor["source_id"] if actor else None,
                       "action": event["action"], "from_stage": event["from_stage"],
                       "from_status": event["from_status"], "to_stage": event["to_stage"],
                       "to_status": event["to_status"], "reason": event["reason"], "created_at": event["at"]}
            event["prev_hash"], event["hash"] = prev, chain_hash(prev, payload)
            prev = event["hash"]
        return json.dumps(manifest, ensure_ascii=False).encode("utf-8")

    old = rewrite(path, tmp_path / "v1.zip", as_version_1)
    with zipfile.ZipFile(old) as zf:
        reasons = [e["reason"] for e in json.loads(zf.read("manifest.json"))["events"] if e["reason"]]
    assert reasons                                                   # the check below covers a reason
    result = runner.invoke(args=["cases", "import-bundle", str(old)])
    assert result.exit_code == 0, result.output
    with app.app_context():
        assert verify_chain()[1] is None
        db.session.remove()


def with_evidence(src, dst, evidence, documents=()):
    """The bundle src with its evidence replaced by `evidence` ((original name, bytes, claimed content type)) and
    `documents` ((kind, bytes)) added, the manifest's hashes made to agree: what a forger can always do."""
    with zipfile.ZipFile(src) as zin:
        manifest = json.loads(zin.read("manifest.json"))
        files = {n: zin.read(n) for n in zin.namelist() if n != "manifest.json" and not n.startswith("evidence/")}
    manifest["evidence"] = []
    for n, (name, data, claimed) in enumerate(evidence, start=1):
        path = f"evidence/{n}-{name}"
        files[path] = data
        manifest["evidence"].append({"path": path, "sha256": hashlib.sha256(data).hexdigest(), "size": len(data),
                                     "content_type": claimed, "original_name": name, "description": "现场",
                                     "uploaded_by": "resident1", "uploaded_at": None})
    for n, (kind, data) in enumerate(documents, start=len(manifest["documents"]) + 1):
        path = f"documents/{n}-{kind}.pdf"
        files[path] = data
        manifest["documents"].append({"path": path, "sha256": hashlib.sha256(data).hexdigest(), "kind": kind,
                                      "template": None, "issued_at": None})
    manifest["files"] = {p: hashlib.sha256(d).hexdigest() for p, d in files.items()}
    with zipfile.ZipFile(dst, "w") as zout:
        zout.writestr("manifest.json", json.dumps(manifest, ensure_ascii=False))
        for p, d in files.items():
            zout.writestr(p, d)
    return dst


def stored_state(app) -> tuple[int, int, int]:
    """(cases, evidence rows, files in storage)."""
    from app.cases.models import EvidenceFile
    from app.extensions import db

    with app.app_context():
        evidence = db.session.scalar(sa.select(sa.func.count()).select_from(EvidenceFile))
        files = sum(1 for p in app.config["FILES_DIR"].rglob("*") if p.is_file())
        db.session.remove()
    return case_count(app), evidence, files


HTML = b"<!doctype html><html><script>fetch('/account').then(r => r.text())</script></html>"
EXE = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00" + b"\x00" * 48 + b"PE\x00\x00"


@pytest.mark.parametrize(("bad", "says"), [
    (("判决书.pdf", HTML, "application/pdf"),
     ["evidence/2-判决书.pdf", "不能导入", "只接受 PDF、JPEG、PNG、MP3 或 MP4 文件", "Only PDF, JPEG, PNG, MP3 or MP4 files are accepted"]),
    (("照片.png", EXE, "image/png"), ["evidence/2-照片.png", "只接受 PDF", "refused"]),
    (("收据", PDF, "image/png"), ["evidence/2-收据", "内容是 PDF，不是清单所写的 image/png",
                                 "its content is PDF, not image/png as the manifest says"]),
    (("录音.mp3", FTYP_THEN_GARBAGE, "video/mp4"), ["evidence/2-录音.mp3", "只接受 PDF"]),
    (("notes.html", b"%PDF-1.4\n<html><script>alert(1)</script></html>", "application/pdf"),
     ["evidence/2-notes.html", "文件扩展名（.html）与文件内容（PDF）不符", "(.html) does not match"]),
])
def test_evidence_whose_content_is_not_what_the_manifest_claims_refuses_the_whole_import(
        app, bundle_path, runner, tmp_path, bad, says):
    path, _ = bundle_path
    crafted = with_evidence(path, tmp_path / "crafted.zip", [("收据.png", PNG, "image/png"), bad])
    before = stored_state(app)
    result = runner.invoke(args=["cases", "import-bundle", str(crafted)])
    assert result.exit_code != 0 and "拒绝导入 / import refused" in result.output
    for text in says:
        assert text in result.output, result.output
    assert stored_state(app) == before  # not the case, not the good PNG before it, not a stored file


def test_a_document_that_is_not_a_pdf_refuses_the_import(app, bundle_path, runner, tmp_path):
    path, _ = bundle_path
    crafted = with_evidence(path, tmp_path / "crafted.zip", [("收据.png", PNG, "image/png")],
                            documents=[("assessment_report", HTML)])
    before = stored_state(app)
    result = runner.invoke(args=["cases", "import-bundle", str(crafted)])
    assert result.exit_code != 0 and "-assessment_report.pdf 不是 PDF 文件" in result.output
    assert stored_state(app) == before


def test_genuine_evidence_of_every_accepted_type_still_imports(app, bundle_path, runner, tmp_path):
    from app.cases.models import EvidenceFile
    from app.extensions import db

    path, _ = bundle_path
    evidence = [("收据.png", PNG, "image/png"), ("借条.pdf", PDF, "application/pdf"), ("录音.mp3", MP3, "audio/mpeg"),
                ("现场.mp4", MP4, "video/mp4"), ("语音.m4a", M4A, "video/mp4"), ("聊天记录", PNG, "image/png")]
    crafted = with_evidence(path, tmp_path / "genuine.zip", evidence)
    result = runner.invoke(args=["cases", "import-bundle", str(crafted)])
    assert result.exit_code == 0, result.output
    new_id = int(result.output.strip().splitlines()[-1])
    with app.app_context():
        rows = db.session.scalars(sa.select(EvidenceFile).where(EvidenceFile.case_id == new_id)
                                  .order_by(EvidenceFile.id)).all()
        assert [(e.original_name, e.content_type, e.size_bytes) for e in rows] == \
            [(name, claimed, len(data)) for name, data, claimed in evidence]
        db.session.remove()
