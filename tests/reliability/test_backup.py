"""`flask backup` and `flask restore`: a round trip of the demo county (a signed agreement PDF, evidence) into
an empty database and files folder, verified by row counts, file hashes, the audit chain and the PDF's
signature; a refused restore over data; a tampered archive named file by file; the logical dump on both
backends."""
from __future__ import annotations

import io
import json
import shutil
import tarfile
from pathlib import Path

import pytest
import sqlalchemy as sa

from app.extensions import db
from tests.conftest import BACKEND, scratch_app

PNG = (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00"
       b"\x1f\x15\xc4\x89\x00\x00\x00\rIDATx\x9cc\xf8\xcf\xc0\xf0\x1f\x00\x05\x00\x01\xff\x89\x99=\x1d"
       b"\x00\x00\x00\x00IEND\xaeB`\x82")  # a 1x1 PNG


@pytest.fixture()
def empty_target(app, tmp_path):
    """A second app on a brand-new empty database and an empty files folder (the machine being restored)."""
    with scratch_app(tmp_path, "restore") as target:
        yield target


def _signed_agreement_pdf(app) -> None:
    """Have the demo's signed agreement rendered and signed (the job runs at the commit without Redis)."""
    from app.agreements.models import Agreement
    from app.agreements.pdf import pdf_row, request_pdf
    from app.demo import signed_agreement_case_id

    with app.app_context():
        case_id = signed_agreement_case_id()
        agreement = db.session.scalar(sa.select(Agreement).where(Agreement.case_id == case_id))
        request_pdf(agreement.id)
        db.session.commit()
        assert pdf_row(agreement.id).status == "done"
        db.session.remove()


def _small_case_with_evidence(app) -> None:
    from app.accounts.operations import register_resident
    from app.cases import evidence, intake
    from app.core.storage import storage

    with app.app_context():
        user = register_resident("backup_resident", "jiefen-demo", "居民甲", "13900000002")
        case = intake.start_draft(user, "邻居漏水", "楼上漏水导致我家天花板发霉。", None, None, None)
        evidence.add_evidence(case, user, "照片.png", PNG, storage(), 10 * 1024 * 1024)
        db.session.commit()
        db.session.remove()


def _backup(app, path: Path, *extra: str) -> dict:
    result = app.test_cli_runner().invoke(args=["backup", "--output", str(path), *extra])
    assert result.exit_code == 0, result.output
    with tarfile.open(path) as tar:
        return json.load(tar.extractfile("manifest.json"))


def test_round_trip_of_the_demo_county_verifies_counts_files_chain_and_signatures(app, demo, empty_target,
                                                                                  tmp_path):
    _signed_agreement_pdf(app)
    _small_case_with_evidence(app)
    archive = tmp_path / "jiefen.tar.gz"
    manifest = _backup(app, archive)
    # PostgreSQL: pg_dump when Debian's postgresql-client is installed, else the logical dump.
    pg_kind = "pg_dump-custom" if shutil.which("pg_dump") else "logical-jsonl"
    assert manifest["database"]["kind"] == ("sqlite-backup" if BACKEND == "sqlite" else pg_kind)
    assert manifest["tables"]["cases"] > 5 and manifest["tables"]["agreement_pdfs"] == 1
    assert manifest["audit"]["events"] > 10 and len(manifest["files"]) >= 2
    assert manifest["alembic_revision"] and manifest["created_at"].endswith("Z")

    refused = app.test_cli_runner().invoke(args=["restore", str(archive)])  # over the live data: refused
    assert refused.exit_code == 1 and "not empty" in refused.output

    restored = empty_target.test_cli_runner().invoke(args=["restore", str(archive)])
    assert restored.exit_code == 0, restored.output
    assert "Restored and verified" in restored.output and "1 signed PDF(s) valid" in restored.output
    with empty_target.app_context():
        from app.cases.models import Case

        assert db.session.scalar(sa.select(sa.func.count()).select_from(Case)) == manifest["tables"]["cases"]
        assert empty_target.test_cli_runner().invoke(args=["audit", "verify"]).exit_code == 0
        db.session.remove()
    files = Path(empty_target.config["FILES_DIR"])
    restored_files = sorted(p.relative_to(files).as_posix() for p in files.rglob("*") if p.is_file())
    assert restored_files == sorted(manifest["files"])


def _tamper(archive: Path, tampered: Path) -> str:
    """Copy the archive with one byte of one stored file changed; returns that file's name in the archive."""
    with tarfile.open(archive) as src, tarfile.open(tampered, "w:gz") as dst:
        victim = next(m.name for m in src.getmembers() if m.name.startswith("files/"))
        for member in src.getmembers():
            data = src.extractfile(member).read() if member.isfile() else None
            if member.name == victim:
                data = bytes([data[0] ^ 0xFF]) + data[1:]
            dst.addfile(member, io.BytesIO(data) if data is not None else None)
    return victim


def test_a_tampered_archive_is_refused_naming_the_file(app, empty_target, tmp_path):
    _small_case_with_evidence(app)
    archive, tampered = tmp_path / "good.tar.gz", tmp_path / "tampered.tar.gz"
    _backup(app, archive)
    victim = _tamper(archive, tampered)
    result = empty_target.test_cli_runner().invoke(args=["restore", str(tampered)])
    assert result.exit_code == 1
    assert f"{victim}: SHA-256 does not match the manifest" in result.output
    assert "nothing was restored" in result.output
    files = Path(empty_target.config["FILES_DIR"])
    assert not files.exists() or not any(files.rglob("*"))
    with empty_target.app_context():  # the database is untouched too
        assert sa.inspect(db.engine).get_table_names() == []
        db.session.remove()


def _hostile_archive(path: Path, member: tarfile.TarInfo, data: bytes = b"x") -> Path:
    """An archive with a manifest and one hostile member (what restore must refuse before writing anything)."""
    with tarfile.open(path, "w:gz") as tar:
        manifest = json.dumps({"format": 1}).encode()
        info = tarfile.TarInfo("manifest.json")
        info.size = len(manifest)
        tar.addfile(info, io.BytesIO(manifest))
        if member.isfile():
            member.size = len(data)
            tar.addfile(member, io.BytesIO(data))
        else:
            tar.addfile(member)
    return path


def _symlink(name: str, to: str) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type, info.linkname = tarfile.SYMTYPE, to
    return info


@pytest.mark.parametrize("member", [tarfile.TarInfo("../escaped.txt"), tarfile.TarInfo("files/../../escaped.txt"),
                                    tarfile.TarInfo("/tmp/jiefen-escaped.txt"), _symlink("files/link", "/etc/passwd"),
                                    _symlink("escaped.txt", "../../escaped.txt")],
                         ids=["dotdot", "nested-dotdot", "absolute", "symlink", "relative-symlink"])
def test_an_archive_with_links_or_paths_out_of_its_folder_is_refused_before_anything_is_written(
        empty_target, tmp_path, member):
    archive = _hostile_archive(tmp_path / "hostile.tar.gz", member)
    result = empty_target.test_cli_runner().invoke(args=["restore", str(archive)])
    assert result.exit_code == 1
    assert "not a readable backup archive" in result.output and member.name in result.output
    assert not (tmp_path / "escaped.txt").exists() and not Path("/tmp/jiefen-escaped.txt").exists()
    assert not list(tmp_path.rglob("manifest.json"))  # not even the harmless member was extracted


def test_the_logical_dump_round_trip(app, empty_target, tmp_path):
    _small_case_with_evidence(app)
    archive = tmp_path / "logical.tar.gz"
    manifest = _backup(app, archive, "--logical")
    assert manifest["database"]["kind"] == "logical-jsonl"
    restored = empty_target.test_cli_runner().invoke(args=["restore", str(archive)])
    assert restored.exit_code == 0, restored.output
    with empty_target.app_context():  # the identities go on after the restored ids
        from app.accounts.models import User
        from app.cases import intake

        user = db.session.scalar(sa.select(User).where(User.username == "backup_resident"))
        case = intake.start_draft(user, "第二件纠纷", "又一件事情需要调解。", None, None, None)
        db.session.commit()
        assert case.id == manifest["tables"]["cases"] + 1
        db.session.remove()
