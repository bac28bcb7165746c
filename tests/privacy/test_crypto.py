"""Personal data at rest: AES-GCM tokens, blind indexes, key rotation, and production's refusal without a key."""
from __future__ import annotations

import base64
import os
import secrets
import stat

import pytest
import sqlalchemy as sa

from app.core import crypto
from app.core.crypto import DecryptionError, Keyring, blind_index, build_keyring, decrypt, encrypt

PHONE = "13905538765"
ID_NUMBER = "11010519491231002X"


def key_line(kid: str) -> str:
    return f"{kid}:{base64.b64encode(secrets.token_bytes(32)).decode()}"


@pytest.fixture()
def ring() -> Keyring:
    return build_keyring({"DATA_KEYS": key_line("k1")})


def test_two_encryptions_of_one_value_differ_and_both_decrypt(ring):
    first, second = encrypt(PHONE, "case_parties.phone", ring), encrypt(PHONE, "case_parties.phone", ring)
    assert first != second
    assert first.startswith("v1.k1.") and first.isascii() and len(first) <= 255 and PHONE not in first
    assert decrypt(first, "case_parties.phone", ring) == decrypt(second, "case_parties.phone", ring) == PHONE


def test_a_tampered_token_is_refused_naming_its_key(ring):
    token = encrypt(ID_NUMBER, "case_parties.id_number", ring)
    body = bytearray(base64.urlsafe_b64decode(token.split(".")[2] + "=="))
    body[-1] ^= 1
    tampered = "v1.k1." + base64.urlsafe_b64encode(bytes(body)).rstrip(b"=").decode()
    with pytest.raises(DecryptionError, match="'k1'"):
        decrypt(tampered, "case_parties.id_number", ring)


def test_a_token_moved_to_another_column_does_not_decrypt(ring):
    token = encrypt(PHONE, "case_parties.phone", ring)
    with pytest.raises(DecryptionError, match=r"users\.phone"):
        decrypt(token, "users.phone", ring)


def test_an_unknown_key_id_is_refused_naming_it(ring):
    other = build_keyring({"DATA_KEYS": key_line("k9")})
    with pytest.raises(DecryptionError, match="Unknown data key id 'k9'"):
        decrypt(encrypt(PHONE, "users.phone", other), "users.phone", ring)
    with pytest.raises(DecryptionError):
        decrypt(PHONE, "users.phone", ring)  # plaintext is no token


def test_rotation_old_tokens_still_read_new_ones_use_the_new_key_blind_index_unchanged():
    old_line = key_line("k1")
    before = build_keyring({"DATA_KEYS": old_line})
    after = build_keyring({"DATA_KEYS": key_line("k2") + "," + old_line})
    old_token = encrypt(PHONE, "users.phone", before)
    assert decrypt(old_token, "users.phone", after) == PHONE
    new_token = encrypt(PHONE, "users.phone", after)
    assert crypto.key_id_of(new_token) == "k2" and crypto.key_id_of(old_token) == "k1"
    with pytest.raises(DecryptionError, match="'k2'"):
        decrypt(new_token, "users.phone", before)
    assert blind_index("phone", PHONE, before) == blind_index("phone", PHONE, after)


def test_blind_index_key_is_separate_from_the_data_key():
    line = key_line("k1")
    derived = build_keyring({"DATA_KEYS": line})
    assert derived.blind_index_key != derived.keys[0][1] and derived.blind_index_kid == "hkdf-k1"
    explicit = build_keyring({"DATA_KEYS": line, "BLIND_INDEX_KEY": key_line("b1")})
    assert explicit.blind_index_kid == "b1"
    assert blind_index("phone", PHONE, derived) != blind_index("phone", PHONE, explicit)
    with pytest.raises(crypto.KeyConfigError, match="k7"):
        build_keyring({"DATA_KEYS": line, "BLIND_INDEX_KEY_ID": "k7"})


@pytest.mark.parametrize("a, b", [
    (" 11010519491231002x ", ID_NUMBER), ("110105 1949 1231 002X", ID_NUMBER), ("１１０１０５１９４９１２３１００２Ｘ", ID_NUMBER),
    ("9135-0100-M000100Y43", "91350100M000100Y43"),  # a company's unified social credit code
])
def test_id_numbers_are_normalised_before_indexing(ring, a, b):
    assert crypto.normalise_id_number(a) == crypto.normalise_id_number(b)
    assert blind_index("id_number", a, ring) == blind_index("id_number", b, ring)


@pytest.mark.parametrize("value", ["+86 139-0553-8765", "86 13905538765", "0086 139 0553 8765", "139 0553 8765"])
def test_phones_are_normalised_before_indexing(ring, value):
    assert crypto.normalise_phone(value) == PHONE
    assert blind_index("phone", value, ring) == blind_index("phone", PHONE, ring)


def test_blind_index_kinds_are_separate_and_closed(ring):
    assert blind_index("phone", "91350100", ring) != blind_index("id_number", "91350100", ring)
    with pytest.raises(ValueError, match="email"):
        blind_index("email", "a@b.cn", ring)


def test_bad_key_settings_are_refused_clearly():
    for spec, message in (("k1:" + base64.b64encode(b"short").decode(), "32 bytes"), ("k1:%%%", "base64"),
                          ("no-colon", "kid:base64"), (key_line("k1") + "," + key_line("k1"), "twice")):
        with pytest.raises(crypto.KeyConfigError, match=message):
            build_keyring({"DATA_KEYS": spec})


def test_the_development_key_file_is_made_once_with_mode_0600(tmp_path):
    ring = build_keyring({}, tmp_path, create=True)
    path = tmp_path / "data.key"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    again = build_keyring({}, tmp_path, create=True)
    assert again.keys == ring.keys
    with pytest.raises(crypto.KeyConfigError, match="JIEFEN_DATA_KEYS"):
        build_keyring({}, tmp_path / "elsewhere", create=False)  # production never makes one up
    assert not (tmp_path / "elsewhere").exists()


# --- production ----------------------------------------------------------------------------
@pytest.fixture()
def prod_settings(tmp_path, monkeypatch):
    monkeypatch.setenv("JIEFEN_INSTANCE_DIR", str(tmp_path / "instance"))
    monkeypatch.delenv("FLASK_DEBUG", raising=False)
    return {"ENV_NAME": "production", "SECRET_KEY": secrets.token_hex(32), "FILES_DIR": tmp_path / "files",
            "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'prod.db'}", "DATA_KEYS": None, "DATA_KEY_FILE": None}


def test_production_refuses_to_start_without_a_data_key(prod_settings, tmp_path):
    from app import create_app

    with pytest.raises(RuntimeError, match=r"no personal-data key.*JIEFEN_DATA_KEYS"):
        create_app(prod_settings)
    assert not (tmp_path / "instance" / "data.key").exists()  # and it made none up
    with pytest.raises(RuntimeError, match="JIEFEN_DATA_KEY_FILE"):  # a key file named but missing
        create_app({**prod_settings, "DATA_KEY_FILE": str(tmp_path / "missing.key")})
    with pytest.raises(RuntimeError, match="32 bytes"):
        create_app({**prod_settings, "DATA_KEYS": "k1:" + base64.b64encode(b"too short").decode()})


def test_production_starts_with_a_key_from_the_environment_or_a_file(prod_settings, tmp_path):
    from app import create_app

    assert create_app({**prod_settings, "DATA_KEYS": key_line("k1")}).config["ENV_NAME"] == "production"
    key_file = tmp_path / "data.key"
    key_file.write_text(key_line("p1") + "\n")
    os.chmod(key_file, 0o600)
    application = create_app({**prod_settings, "DATA_KEY_FILE": str(key_file)})
    with application.app_context():
        assert crypto.keyring().current_kid == "p1"


# --- in the database -----------------------------------------------------------------------
def test_rotation_in_the_database_old_rows_read_new_rows_use_the_new_key(app, demo):
    from app.accounts.models import User
    from app.extensions import db

    with app.app_context():
        old_ring = crypto.keyring()
        new_ring = build_keyring({"DATA_KEYS": key_line("k2") + "\n" + "\n".join(
            f"{kid}:{base64.b64encode(m).decode()}" for kid, m in old_ring.keys)})
        app.extensions["jiefen_keyring"] = new_ring
        try:
            user = db.session.scalar(sa.select(User).where(User.username == "resident2"))
            user.phone = "13905537777"  # rewritten with the new key
            db.session.commit()
            db.session.expire_all()
            rows = dict(db.session.execute(sa.text("SELECT username, phone FROM users "
                                                   "WHERE username IN ('resident1', 'resident2')")).all())
            assert crypto.key_id_of(rows["resident2"]) == "k2"
            assert crypto.key_id_of(rows["resident1"]) == old_ring.current_kid
            phones = dict(db.session.execute(sa.select(User.username, User.phone)
                                             .where(User.username.in_(("resident1", "resident2")))).all())
            assert phones["resident2"] == "13905537777" and phones["resident1"].startswith("1390553")
            found = db.session.scalar(sa.select(User.username)
                                      .where(User.phone_bidx == blind_index("phone", "+86 139 0553 7777")))
            assert found == "resident2"  # the blind index did not change with the data key
        finally:
            app.extensions["jiefen_keyring"] = old_ring
            db.session.remove()


def test_reencrypt_moves_every_value_to_the_current_key(app, demo):
    from app.accounts.models import User
    from app.extensions import db

    with app.app_context():
        old_ring = crypto.keyring()
        keys = "\n".join(f"{kid}:{base64.b64encode(m).decode()}" for kid, m in old_ring.keys)
        app.extensions["jiefen_keyring"] = build_keyring({"DATA_KEYS": key_line("k2") + "\n" + keys})
        try:
            runner = app.test_cli_runner()
            before = runner.invoke(args=["pii", "keys"])
            assert f"users.phone: {old_ring.current_kid}=" in before.output and "k2=" not in before.output
            result = runner.invoke(args=["pii", "reencrypt"])
            assert result.exit_code == 0, result.output
            assert "value(s) rewritten with key k2" in result.output
            after = runner.invoke(args=["pii", "keys"]).output
            assert f"{old_ring.current_kid}=" not in after and "users.phone: k2=" in after
            db.session.expire_all()
            phone = db.session.scalar(sa.select(User.phone).where(User.username == "resident1"))
            assert phone.startswith("1390553")
        finally:
            app.extensions["jiefen_keyring"] = old_ring
            db.session.remove()
