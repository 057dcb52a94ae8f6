"""Signed link tokens (unsubscribe, preferences): what a forger or a mangled link gets."""

from __future__ import annotations

import base64
import re
import stat
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from pressdispatch.errors import TokenError
from pressdispatch.tokens import KEY_FILE, Signer, load_signing_key

KEY = b"0123456789abcdef0123456789abcdef"
SIGNER = Signer(KEY)
ADDRESS = "anna.petrova@example.net"
ISSUED = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)
URL_SAFE = re.compile(r"^[A-Za-z0-9_.-]+$")


def b64(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode()).rstrip(b"=").decode("ascii")


# -- round trip and binding -----------------------------------------------------------


@pytest.mark.parametrize(
    "subject",
    [ADDRESS, "Anna.Petrova@example.net", "анна@пример.рф", "x+tag@example.org", "a@b.co"],
)
def test_round_trip_returns_the_subject(subject: str) -> None:
    token = SIGNER.sign("unsubscribe", subject)
    assert SIGNER.verify(token, "unsubscribe") == subject


def test_round_trip_with_issue_time() -> None:
    token = SIGNER.sign("confirm", ADDRESS, issued_at=ISSUED)
    assert SIGNER.verify(token, "confirm") == ADDRESS


def test_same_key_in_a_new_signer_verifies() -> None:
    token = SIGNER.sign("unsubscribe", ADDRESS)
    assert Signer(bytes(KEY)).verify(token, "unsubscribe") == ADDRESS


def test_other_key_refuses() -> None:
    token = SIGNER.sign("unsubscribe", ADDRESS)
    with pytest.raises(TokenError):
        Signer(b"another-key-of-32-bytes-length!!").verify(token, "unsubscribe")


def test_token_for_one_purpose_is_refused_for_another() -> None:
    token = SIGNER.sign("unsubscribe", ADDRESS)
    with pytest.raises(TokenError):
        SIGNER.verify(token, "preferences")
    assert SIGNER.verify(token, "unsubscribe") == ADDRESS


def test_subject_cannot_be_swapped_for_another_address() -> None:
    token = SIGNER.sign("unsubscribe", ADDRESS)
    first, issued, mac = token.split(".")
    assert first == b64(ADDRESS)
    forged = ".".join([b64("victim@example.org"), issued, mac])
    with pytest.raises(TokenError):
        SIGNER.verify(forged, "unsubscribe")


def test_issue_time_cannot_be_edited() -> None:
    token = SIGNER.sign("confirm", ADDRESS, issued_at=ISSUED)
    subject, issued, mac = token.split(".")
    later = format(int((ISSUED + timedelta(days=30)).timestamp()), "x")
    assert later != issued
    with pytest.raises(TokenError):
        SIGNER.verify(f"{subject}.{later}.{mac}", "confirm")


@pytest.mark.parametrize("position", [0, 5, -1])
def test_flipped_character_in_the_mac_is_refused(position: int) -> None:
    token = SIGNER.sign("unsubscribe", ADDRESS)
    subject, issued, mac = token.split(".")
    chars = list(mac)
    chars[position] = "B" if chars[position] != "B" else "C"
    tampered = f"{subject}.{issued}.{''.join(chars)}"
    assert tampered != token
    with pytest.raises(TokenError):
        SIGNER.verify(tampered, "unsubscribe")


@pytest.mark.parametrize(
    "subject", [ADDRESS, "ünïcødé@例え.jp", "a" * 300 + "@example.org", "x@y.z?&=/+"]
)
def test_tokens_are_url_safe(subject: str) -> None:
    for issued_at in (None, ISSUED):
        token = SIGNER.sign("preferences", subject, issued_at=issued_at)
        assert URL_SAFE.match(token), token
        assert token.count(".") == 2


# -- malformed input ------------------------------------------------------------------


@pytest.mark.parametrize(
    "token",
    [
        "",
        "a.b",
        "a.b.c.d",
        "...",
        "..",
        "not base64!.0.%%%%",
        "YQ.zz.AAAAAAAAAAAAAAAAAAAAAA",
        f"{b64(ADDRESS)}.0",
        " " + SIGNER.sign("unsubscribe", ADDRESS),
    ],
)
def test_malformed_tokens_raise_token_error(token: str) -> None:
    with pytest.raises(TokenError):
        SIGNER.verify(token, "unsubscribe")


def _verify_outcome(token: str) -> None:
    try:
        subject = SIGNER.verify(token, "unsubscribe")
    except TokenError:
        return
    assert isinstance(subject, str)  # success: a genuine token (never expected from fuzzing)


ASCII = st.characters(max_codepoint=127)
THREE_SEGMENTS = st.lists(st.text(), min_size=3, max_size=3).map(".".join)


ASCII_THREE_SEGMENTS = st.lists(st.text(ASCII), min_size=3, max_size=3).map(".".join)


@given(st.one_of(st.text(alphabet=ASCII), ASCII_THREE_SEGMENTS))
def test_fuzz_ascii_text_gives_token_error_or_success(token: str) -> None:
    _verify_outcome(token)


@given(st.one_of(st.text(), THREE_SEGMENTS))
@example("a.b.é")
def test_fuzz_any_text_gives_token_error_or_success(token: str) -> None:
    _verify_outcome(token)


# -- expiry ---------------------------------------------------------------------------


def test_expiry_with_max_age_and_explicit_now() -> None:
    token = SIGNER.sign("confirm", ADDRESS, issued_at=ISSUED)
    day = timedelta(days=1)
    assert SIGNER.verify(token, "confirm", max_age=day, now=ISSUED) == ADDRESS
    assert SIGNER.verify(token, "confirm", max_age=day, now=ISSUED + timedelta(hours=23)) == (
        ADDRESS
    )
    with pytest.raises(TokenError, match="expired"):
        SIGNER.verify(token, "confirm", max_age=day, now=ISSUED + timedelta(hours=25))


def test_expiry_ignores_the_offset_of_now() -> None:
    token = SIGNER.sign("confirm", ADDRESS, issued_at=ISSUED)
    plus3 = ISSUED.astimezone(timezone(timedelta(hours=3)))
    assert plus3.hour == 11
    assert SIGNER.verify(token, "confirm", max_age=timedelta(minutes=1), now=plus3) == ADDRESS


def test_token_without_issue_time_never_passes_a_max_age_check() -> None:
    token = SIGNER.sign("confirm", ADDRESS)
    with pytest.raises(TokenError, match="expired"):
        SIGNER.verify(token, "confirm", max_age=timedelta(days=3650), now=ISSUED)
    # ...but without max_age (unsubscribe links) it never expires.
    assert SIGNER.verify(token, "confirm") == ADDRESS


# -- keys -----------------------------------------------------------------------------


@pytest.mark.parametrize("key", [b"", b"short", b"x" * 15])
def test_key_shorter_than_16_bytes_is_refused(key: bytes) -> None:
    with pytest.raises(TokenError):
        Signer(key)


def test_key_of_16_bytes_is_accepted() -> None:
    signer = Signer(b"x" * 16)
    assert signer.verify(signer.sign("unsubscribe", ADDRESS), "unsubscribe") == ADDRESS


def test_environment_key_wins_and_no_file_is_written(tmp_path: Path) -> None:
    data = tmp_path / "var"
    data.mkdir()
    (data / KEY_FILE).write_bytes(b"key-from-the-file-0123456789")
    assert load_signing_key("key-from-the-environment-0123", data) == (
        b"key-from-the-environment-0123"
    )
    fresh = tmp_path / "fresh"
    assert load_signing_key("key-from-the-environment-0123", fresh) == (
        b"key-from-the-environment-0123"
    )
    assert not (fresh / KEY_FILE).exists()


@pytest.mark.parametrize("env_value", [None, ""])
def test_without_environment_a_private_key_file_is_created_and_reused(
    tmp_path: Path, env_value: str | None
) -> None:
    data = tmp_path / "var" / "nested"
    first = load_signing_key(env_value, data)
    path = data / KEY_FILE
    assert path.is_file()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert path.read_bytes().strip() == first
    assert len(first) >= 32
    second = load_signing_key(env_value, data)
    assert second == first
    # A Signer made from it works, and a token survives the "restart".
    token = Signer(first).sign("unsubscribe", ADDRESS)
    assert Signer(second).verify(token, "unsubscribe") == ADDRESS


def test_two_data_folders_get_different_keys(tmp_path: Path) -> None:
    assert load_signing_key(None, tmp_path / "a") != load_signing_key(None, tmp_path / "b")
