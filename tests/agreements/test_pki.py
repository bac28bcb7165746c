"""`flask pki init`: a development CA and one PKCS#12 per mediation organisation, 0600 files in a 0700 folder."""
from __future__ import annotations

import stat

import pytest
import sqlalchemy as sa
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.serialization import pkcs12

from app.accounts.models import Organisation, OrgType


def _mode(path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_pki_init_makes_the_ca_and_one_certificate_per_committee(app, demo, tmp_path, monkeypatch):
    folder = tmp_path / "pki"
    monkeypatch.setitem(app.config, "AGREEMENT_PKI_DIR", str(folder))
    result = app.test_cli_runner().invoke(args=["pki", "init"])
    assert result.exit_code == 0, result.output
    from app.extensions import db

    with app.app_context():
        orgs = {o.id: o.name for o in db.session.scalars(sa.select(Organisation))
                if o.type in (OrgType.people_mediation, OrgType.trade_mediation, OrgType.lawyer_mediation)}
        committees = db.session.scalar(sa.select(sa.func.count()).select_from(Organisation)
                                       .where(Organisation.type == OrgType.people_mediation))
        court = db.session.scalar(sa.select(Organisation.id).where(Organisation.type == OrgType.court).limit(1))
        db.session.remove()
    assert committees >= 3 and orgs
    assert _mode(folder) == 0o700
    assert _mode(folder / "ca.pem") == 0o600 and _mode(folder / "ca-key.pem") == 0o600
    ca = x509.load_pem_x509_certificate((folder / "ca.pem").read_bytes())
    assert ca.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    for org_id, name in orgs.items():
        path = folder / f"org-{org_id}.p12"
        assert path.is_file() and _mode(path) == 0o600, path
        key, cert, chain = pkcs12.load_key_and_certificates(path.read_bytes(),
                                                            app.config["AGREEMENT_P12_PASSWORD"].encode())
        assert cert.issuer == ca.subject and key is not None and chain[0] == ca
        org_names = cert.subject.get_attributes_for_oid(x509.oid.NameOID.ORGANIZATION_NAME)
        assert name.startswith(org_names[0].value)
        usage = cert.extensions.get_extension_for_class(x509.KeyUsage).value
        assert usage.digital_signature and usage.content_commitment
    assert not (folder / f"org-{court}.p12").exists()  # courts do not sign agreements

    # Idempotent: nothing is remade, the files stay as they were.
    before = {p.name: p.read_bytes() for p in folder.iterdir()}
    again = app.test_cli_runner().invoke(args=["pki", "init"])
    assert again.exit_code == 0 and "created" not in again.output
    assert {p.name: p.read_bytes() for p in folder.iterdir()} == before


def test_pki_init_for_one_organisation(app, demo, tmp_path, monkeypatch):
    folder = tmp_path / "one"
    monkeypatch.setitem(app.config, "AGREEMENT_PKI_DIR", str(folder))
    from app.extensions import db

    with app.app_context():
        org_id = db.session.scalar(sa.select(Organisation.id).where(Organisation.type == OrgType.people_mediation)
                                   .order_by(Organisation.id).limit(1))
        db.session.remove()
    result = app.test_cli_runner().invoke(args=["pki", "init", "--org", str(org_id)])
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in folder.iterdir()) == ["ca-key.pem", "ca.pem", f"org-{org_id}.p12"]
    missing = app.test_cli_runner().invoke(args=["pki", "init", "--org", "999999"])
    assert missing.exit_code == 1


def test_a_configured_pkcs12_signs_instead(app, demo, tmp_path, monkeypatch):
    """Production: AGREEMENT_SIGNING_P12 (+ password) and AGREEMENT_TRUST_ROOTS replace the development files."""
    from app.agreements import pki

    made = tmp_path / "made"
    monkeypatch.setitem(app.config, "AGREEMENT_PKI_DIR", str(made))
    monkeypatch.setitem(app.config, "AGREEMENT_P12_PASSWORD", "prod-secret")
    with app.app_context():
        p12, _ = pki.ensure_org("prod", "某某人民调解委员会")
    empty = tmp_path / "unused"
    monkeypatch.setitem(app.config, "AGREEMENT_PKI_DIR", str(empty))
    monkeypatch.setitem(app.config, "AGREEMENT_SIGNING_P12", str(p12))
    monkeypatch.setitem(app.config, "AGREEMENT_TRUST_ROOTS", str(made / "ca.pem"))
    monkeypatch.setitem(app.config, "ENV_NAME", "production")
    with app.app_context():
        signer = pki.signer_for(None)
        roots = pki.trust_roots()
    assert "某某人民调解委员会" in signer.signing_cert.subject.human_friendly
    ca = x509.load_pem_x509_certificate((made / "ca.pem").read_bytes())
    assert len(roots) == 1 and roots[0].dump() == ca.public_bytes(serialization.Encoding.DER)
    assert not empty.exists()  # nothing made in the development folder

    monkeypatch.setitem(app.config, "AGREEMENT_SIGNING_P12", None)  # production without it: a clear refusal
    with app.app_context(), pytest.raises(pki.PkiError, match="AGREEMENT_SIGNING_P12"):
        pki.signer_for(None)
