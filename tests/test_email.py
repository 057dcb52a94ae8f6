"""Email rendering: the bytes a journalist receives, parsed back with Python's email package."""

from __future__ import annotations

import binascii
import re
from email import message_from_bytes, policy
from email.header import decode_header, make_header
from email.message import EmailMessage
from email.utils import parsedate_to_datetime
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from pressdispatch.config import load_settings
from pressdispatch.content.newsroom import load_newsroom
from pressdispatch.errors import HeaderInjection
from pressdispatch.model import Release, Tier, Variant
from pressdispatch.regions import load_regions
from pressdispatch.render.email import EmailRenderer, Recipient, _Template
from pressdispatch.tokens import Signer

from .conftest import WriteRelease, md

KEY = b"test-signing-key-0123456789abcdef"
META = """\
publish_at = 2026-11-28T10:00:00+01:00
embargo_send_at = 2026-11-27T09:00:00+01:00
original_language = "fr"
regions = ["BY"]
topics = ["health"]

[[contacts]]
name = "Marie Curie"
role = "Press officer"
phone = "+33 1 00 00 00 00"
email = "marie@example.org"
"""
TEXTS = {
    "fr": md(
        "Campagne de vaccination à Minsk",
        "Un **corps** de texte.\n\n- point",
        summary="Résumé",
        dateline="Minsk",
    ),
    "en": md("Vaccination campaign in Minsk", "A body.", dateline="Minsk"),
    "ar": md("حملة تطعيم في مينسك", "نص البيان.", dateline="مينسك"),
}


@pytest.fixture
def renderer(newsroom_dir: Path, release_writer: WriteRelease) -> tuple[EmailRenderer, Release]:
    release_writer("vaccination", META, TEXTS)
    settings = load_settings(newsroom_dir / "config.toml")
    regions = load_regions()
    newsroom = load_newsroom(settings, regions)
    assert newsroom.problems == []
    renderer = EmailRenderer(settings.newsroom, settings.paths.templates, Signer(KEY), regions)
    return renderer, newsroom.releases["vaccination"]


def parse(data: bytes) -> EmailMessage:
    message = message_from_bytes(data, policy=policy.default)
    assert isinstance(message, EmailMessage)
    return message


def parts(message: EmailMessage) -> tuple[str, str]:
    text = message.get_body(preferencelist=("plain",))
    html = message.get_body(preferencelist=("html",))
    assert isinstance(text, EmailMessage)
    assert isinstance(html, EmailMessage)
    return text.get_content(), html.get_content()


def test_public_copy_is_a_complete_multipart_message(
    renderer: tuple[EmailRenderer, Release],
) -> None:
    r, release = renderer
    data = r.render(
        release, Variant("fr", Tier.PUBLIC), Recipient("Anna@Example.net", "Anna Petrova")
    )
    assert b"\r\n" in data and b"\n" not in data.replace(b"\r\n", b"")
    message = parse(data)
    assert message.get_content_type() == "multipart/alternative"
    assert [p.get_content_type() for p in message.iter_parts()] == ["text/plain", "text/html"]
    assert all(p.get_content_charset() == "utf-8" for p in message.iter_parts())
    assert message["From"] == "Test Press Office <press@example.org>"
    assert message["Reply-To"] == "media@example.org"
    assert message["To"] == "Anna Petrova <Anna@Example.net>"
    assert message["Subject"] == "Campagne de vaccination à Minsk"
    assert message["Content-Language"] == "fr"
    assert message["List-Id"] == "Test Press Office <press.example.org>"
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert parsedate_to_datetime(message["Date"]) == release.publish_at
    text, html = parts(message)
    assert "28 novembre 2026" in text and "28 novembre 2026" in html
    assert "MINSK" in text
    assert '<html lang="fr" dir="ltr">' in html
    assert "<strong>corps</strong>" in html
    assert "Marie Curie" in html
    assert "Contacts presse" in html
    assert "https://press.example.org/releases/vaccination/fr" in html
    assert 'href="https://press.example.org/releases/vaccination/en"' in html
    assert 'hreflang="ar"' in html
    assert "Anna Petrova" in text


def test_css_is_inlined(renderer: tuple[EmailRenderer, Release]) -> None:
    r, release = renderer
    _, html = parts(
        parse(r.render(release, Variant("en", Tier.PUBLIC), Recipient("a@example.org")))
    )
    assert "<style>" not in html
    assert re.search(r'<h1 style="[^"]*font-size', html)


def test_arabic_is_right_to_left(renderer: tuple[EmailRenderer, Release]) -> None:
    r, release = renderer
    message = parse(r.render(release, Variant("ar", Tier.PUBLIC), Recipient("a@example.org")))
    _, html = parts(message)
    assert '<html lang="ar" dir="rtl">' in html
    assert message["Subject"] == "حملة تطعيم في مينسك"
    assert message["Content-Language"] == "ar"


def test_embargoed_copy_names_the_time_and_zone(renderer: tuple[EmailRenderer, Release]) -> None:
    r, release = renderer
    message = parse(r.render(release, Variant("en", Tier.EMBARGOED), Recipient("a@example.org")))
    subject = message["Subject"]
    assert subject.startswith("[Embargoed until 28 November 2026")
    assert "10:00" in subject and subject.endswith("] Vaccination campaign in Minsk")
    assert re.search(r"CET|GMT\+1|UTC\+1|Paris", subject)
    text, html = parts(message)
    assert "EMBARGOED" in text and "EMBARGOED" in html
    assert parsedate_to_datetime(message["Date"]) == release.embargo_send_at


def test_message_id_is_deterministic_per_release_language_recipient(
    renderer: tuple[EmailRenderer, Release],
) -> None:
    r, release = renderer
    first = parse(r.render(release, Variant("fr", Tier.PUBLIC), Recipient("a@example.org")))
    again = parse(r.render(release, Variant("fr", Tier.PUBLIC), Recipient("A@example.org")))
    other = parse(r.render(release, Variant("fr", Tier.PUBLIC), Recipient("b@example.org")))
    english = parse(r.render(release, Variant("en", Tier.PUBLIC), Recipient("a@example.org")))
    assert first["Message-ID"] == again["Message-ID"]
    assert len({first["Message-ID"], other["Message-ID"], english["Message-ID"]}) == 3
    assert re.fullmatch(r"<vaccination\.fr\.[0-9a-f]+@example\.org>", first["Message-ID"])


def test_list_unsubscribe_carries_a_signed_token_for_the_recipient(
    renderer: tuple[EmailRenderer, Release],
) -> None:
    r, release = renderer
    message = parse(r.render(release, Variant("fr", Tier.PUBLIC), Recipient("Anna@Example.net")))
    header = message["List-Unsubscribe"]
    match = re.search(r"<https://press\.example\.org/unsubscribe/([^>]+)>", header)
    assert match is not None
    assert "<mailto:media@example.org?subject=" in header
    assert Signer(KEY).verify(match.group(1), "unsubscribe") == "anna@example.net"
    _, html = parts(message)
    assert f"/unsubscribe/{match.group(1)}" in html


def test_personal_values_are_escaped_in_html(renderer: tuple[EmailRenderer, Release]) -> None:
    r, release = renderer
    evil = Recipient("a@example.org", '<script>alert("x")</script> Bob')
    text, html = parts(parse(r.render(release, Variant("en", Tier.PUBLIC), evil)))
    assert "<script>" not in html
    assert "&lt;script&gt;" in html
    assert '<script>alert("x")</script> Bob' in text


def test_line_breaks_in_a_recipient_never_reach_the_headers(
    renderer: tuple[EmailRenderer, Release],
) -> None:
    r, release = renderer
    with pytest.raises(HeaderInjection):
        r.render(
            release,
            Variant("en", Tier.PUBLIC),
            Recipient("a@example.org\r\nBcc: victim@example.com"),
        )


def test_rendering_is_done_once_per_variant(renderer: tuple[EmailRenderer, Release]) -> None:
    r, release = renderer
    first = r.prepare(release, Variant("fr", Tier.PUBLIC))
    assert r.prepare(release, Variant("fr", Tier.PUBLIC)) is first
    assert r.prepare(release, Variant("fr", Tier.EMBARGOED)) is not first


def test_per_language_template_overrides_the_default(
    newsroom_dir: Path, renderer: tuple[EmailRenderer, Release]
) -> None:
    override = newsroom_dir / "templates" / "email" / "ru"
    override.mkdir(parents=True)
    (override / "release.txt.j2").write_text("RU TEMPLATE {{ t.title }}\n", encoding="utf-8")
    r, release = renderer
    (newsroom_dir / "releases" / "vaccination" / "ru.md").write_text(
        md("Кампания", "Текст."), encoding="utf-8"
    )
    settings = load_settings(newsroom_dir / "config.toml")
    release = load_newsroom(settings, load_regions()).releases["vaccination"]
    ru_text, ru_html = parts(
        parse(r.render(release, Variant("ru", Tier.PUBLIC), Recipient("a@example.org")))
    )
    assert ru_text.startswith("RU TEMPLATE Кампания")
    assert '<html lang="ru"' in ru_html  # the HTML falls back to the default template
    fr_text, _ = parts(
        parse(r.render(release, Variant("fr", Tier.PUBLIC), Recipient("a@example.org")))
    )
    assert "RU TEMPLATE" not in fr_text


@pytest.mark.parametrize(
    "name",
    [
        "Анна Петрова",
        'Jane "JJ" O\'Brien, Jr.',
        "Zoë Ångström",
        "محمد العلي",
        "a\\b",
        "Александра Константиновна Петрова-Водкина, обозреватель 📰 (Новости)",  # folded
    ],
)
def test_display_names_survive_the_to_header(
    renderer: tuple[EmailRenderer, Release], name: str
) -> None:
    r, release = renderer
    data = r.render(release, Variant("en", Tier.PUBLIC), Recipient("j@example.org", name))
    words = [line for line in data.split(b"\r\n") if b"=?utf-8?b?" in line]
    assert all(len(line) <= 78 for line in words)  # RFC 2047 words are folded
    if len(words) <= 1:
        message = parse(data)
        assert message["To"].addresses[0].display_name == name
        assert message["To"].addresses[0].addr_spec == "j@example.org"
    if words:  # RFC 2047 decoders join adjacent encoded words (Python's address parser does not)
        raw = message_from_bytes(data, policy=policy.compat32)["To"]
        assert str(make_header(decode_header(raw))) == f"{name} <j@example.org>"


@hypothesis_settings(max_examples=300, deadline=None)
@given(
    pieces=st.lists(
        # long fixed runs (multi-byte characters shift the byte alignment) between slots
        st.builds(
            lambda a, n, b: a + "é" * n + b,
            st.text(max_size=20),
            st.integers(0, 300),
            st.text(max_size=20),
        ),
        min_size=1,
        max_size=5,
    ),
    names=st.lists(st.sampled_from(["greeting", "email"]), min_size=4, max_size=4),
    greeting=st.text(max_size=40),
    address=st.text(max_size=40),
)
def test_the_precoded_base64_decodes_to_exactly_the_filled_text(
    pieces: list[str], names: list[str], greeting: str, address: str
) -> None:
    text = "".join(
        piece + (f"@@pd-{names[i]}@@" if i < len(pieces) - 1 else "")
        for i, piece in enumerate(pieces)
    ).replace("\r", "")
    template = _Template(text)
    values = {"greeting": greeting, "email": address}
    encoded = template.base64(values)
    lines = encoded.split(b"\r\n")
    assert all(0 < len(line) <= 76 for line in lines) or encoded == b""
    decoded = binascii.a2b_base64(b"".join(lines), strict_mode=True)  # no padding mid-stream
    assert decoded == template.fill(values).encode("utf-8")
