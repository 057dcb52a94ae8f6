"""The media-contact block of an imported release: its people, and the body without it."""

# ruff: noqa: RUF001  (the phrases, labels and punctuation of six languages are meant)

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pressdispatch.intake.contacts import extract_contacts
from pressdispatch.model import Contact


def release(*paragraphs: str) -> str:
    return "\n\n".join(paragraphs) + "\n"


BODY = release(
    "GENEVA – The agency opened a new office today.",
    "“We are here to stay,” said the director. The office will serve 12,000 people.",
    "## Background\n\n- first point\n- second point",
).rstrip("\n")


# -- one block per language ------------------------------------------------------


BLOCKS = {
    "en": (
        "**For more information, please contact:**\n\n"
        "Jane Doe, Spokesperson, Geneva\n"
        "Tel.: +41 22 917 1234\n"
        "Email: jane.doe@example.org",
        Contact("Jane Doe", "Spokesperson, Geneva", "+41 22 917 12 34", "jane.doe@example.org"),
    ),
    "fr": (
        "Pour plus d’informations, veuillez contacter :\n\n"
        "Marie Dupont, chargée de communication, Paris\n"
        "Tél. : 00 33 1 23 45 67 89\n"
        "Courriel : marie.dupont@example.fr",
        Contact(
            "Marie Dupont",
            "chargée de communication, Paris",
            "+33 1 23 45 67 89",
            "marie.dupont@example.fr",
        ),
    ),
    "ru": (
        "Для получения дополнительной информации обращайтесь:\n\n"
        "Иван Петров, пресс-секретарь, Москва\n"
        "Тел.: +7 (495) 123-45-67\n"
        "Эл. почта: ivan.petrov@example.ru",
        Contact(
            "Иван Петров", "пресс-секретарь, Москва", "+7 495 123-45-67", "ivan.petrov@example.ru"
        ),
    ),
    "es": (
        "### Para más información\n\n"
        "Ana Ruiz, Oficial de prensa, Lima\n"
        "Teléfono: +51 1 213 3400\n"
        "Correo: <ana.ruiz@example.org>",
        Contact("Ana Ruiz", "Oficial de prensa, Lima", "+51 1 2133400", "ana.ruiz@example.org"),
    ),
    "ar": (
        "للمزيد من المعلومات، يرجى الاتصال بـ:\n\n"
        "أحمد علي، المتحدث الرسمي، القاهرة\n"
        "هاتف: +20 2 2795 1234\n"
        "البريد الإلكتروني: ahmed.ali@example.org",
        Contact("أحمد علي", "المتحدث الرسمي، القاهرة", "+20 2 27951234", "ahmed.ali@example.org"),
    ),
    "zh": (
        "欲了解更多信息，请联系：\n\n"
        "张伟，新闻官，北京\n"
        "电话：+86 10 6532 3731\n"
        "邮箱：zhang.wei@example.cn",
        Contact("张伟", "新闻官，北京", "+86 10 6532 3731", "zhang.wei@example.cn"),
    ),
}


@pytest.mark.parametrize("language", sorted(BLOCKS))
def test_a_block_in_each_language_becomes_a_contact_and_leaves_the_body(language: str) -> None:
    block, contact = BLOCKS[language]
    contacts, body = extract_contacts(release(BODY, block), language)
    assert contacts == [contact]
    assert body == BODY + "\n"


@pytest.mark.parametrize("language", sorted(BLOCKS))
def test_the_block_is_found_whatever_language_the_page_is_said_to_be_in(language: str) -> None:
    block, contact = BLOCKS[language]
    other = "en" if language != "en" else "fr"
    assert extract_contacts(release(BODY, block), other) == ([contact], BODY + "\n")


# -- several people --------------------------------------------------------------


def test_two_people_in_paragraphs_of_their_own() -> None:
    block = (
        "Media contacts:\n\n"
        "Jane Doe, Spokesperson\nTel: +41 22 917 1234\njane@example.org\n\n"
        "John Roe, Press Officer, New York\nMobile: +1 917 367 1234\njohn.roe@example.org"
    )
    contacts, body = extract_contacts(release(BODY, block), "en")
    assert contacts == [
        Contact("Jane Doe", "Spokesperson", "+41 22 917 12 34", "jane@example.org"),
        Contact("John Roe", "Press Officer, New York", "+1 917-367-1234", "john.roe@example.org"),
    ]
    assert body == BODY + "\n"


def test_two_people_on_one_line_joined_by_or() -> None:
    text = release(
        BODY,
        "Pour plus d'informations, veuillez contacter Marie Dupont (+41 22 917 1234) "
        "ou Luc Martin (luc.martin@example.org).",
    )
    contacts, body = extract_contacts(text, "fr")
    assert contacts == [
        Contact("Marie Dupont", phone="+41 22 917 12 34"),
        Contact("Luc Martin", email="luc.martin@example.org"),
    ]
    assert body == BODY + "\n"


def test_a_number_or_an_address_of_the_same_person_does_not_make_a_second_one() -> None:
    block = "For media enquiries, please contact Jane Doe on +44 20 7946 0958 or jane@example.org."
    contacts, _ = extract_contacts(release(BODY, block), "en")
    assert contacts == [Contact("Jane Doe", phone="+44 20 7946 0958", email="jane@example.org")]
    block = (
        "Для получения дополнительной информации просьба обращаться к Анне Ивановой "
        "по тел. +375 17 200 00 00 или по адресу anna@example.by"
    )
    contacts, _ = extract_contacts(release(BODY, block), "ru")
    assert contacts == [
        Contact("Анне Ивановой", phone="+375 17 200-00-00", email="anna@example.by")
    ]


def test_people_separated_by_a_slash_and_each_starting_on_a_new_name_line() -> None:
    block = (
        "Contacts presse\n"
        "Marie Dupont, +33 1 23 45 67 89 / Luc Martin, luc.martin@example.org\n"
        "Sophie Bernard\n"
        "sophie.bernard@example.org"
    )
    contacts, _ = extract_contacts(release(BODY, block), "fr")
    assert [c.name for c in contacts] == ["Marie Dupont", "Luc Martin", "Sophie Bernard"]
    assert contacts[2].email == "sophie.bernard@example.org"


def test_an_office_phone_and_a_mobile_are_both_kept_but_not_a_fax() -> None:
    block = (
        "Press contact: Jane Doe\n"
        "Tel: +41 22 917 1234 | Fax: +41 22 917 9999 | Mobile: +41 79 444 12 34"
    )
    contacts, _ = extract_contacts(release(BODY, block), "en")
    assert contacts == [Contact("Jane Doe", phone="+41 22 917 12 34, +41 79 444 12 34")]


# -- addresses in odd markup -----------------------------------------------------


def test_an_address_from_broken_mailto_markup() -> None:
    block = (
        "Para más información:\n\nAna Ruiz, Oficial de prensa\n"
        '"mailto:ana@example.org">ana@example.org'
    )
    contacts, body = extract_contacts(release(BODY, block), "es")
    assert contacts == [Contact("Ana Ruiz", "Oficial de prensa", email="ana@example.org")]
    assert body == BODY + "\n"


def test_an_address_only_in_a_markdown_link() -> None:
    block = (
        "For further information, contact [Jane Doe](mailto:jane.doe@example.org), Spokesperson."
    )
    contacts, _ = extract_contacts(release(BODY, block), "en")
    assert contacts == [Contact("Jane Doe", "Spokesperson", email="jane.doe@example.org")]


def test_addresses_written_with_entities_or_spelled_out() -> None:
    block = (
        "Media contacts\n\n"
        "Jane Doe: jane&#64;example.org\n\n"
        "John Roe: john.roe [at] example [dot] org"
    )
    contacts, _ = extract_contacts(release(BODY, block), "en")
    assert [(c.name, c.email) for c in contacts] == [
        ("Jane Doe", "jane@example.org"),
        ("John Roe", "john.roe@example.org"),
    ]


def test_an_address_alone_is_its_own_name() -> None:
    contacts, body = extract_contacts(release(BODY, "Press contact: press@example.org"), "en")
    assert contacts == [Contact("press@example.org", email="press@example.org")]
    assert body == BODY + "\n"


# -- phones ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("written", "normalised"),
    [
        ("+41 22 917 1234", "+41 22 917 12 34"),
        ("+41 (0)22 917 12 34", "+41 22 917 12 34"),
        ("+7 (495) 123-45-67", "+7 495 123-45-67"),
        ("00 33 1 23 45 67 89", "+33 1 23 45 67 89"),
        ("0033 1 23 45 67 89", "+33 1 23 45 67 89"),
        ("+1.212.963.1234", "+1 212-963-1234"),
    ],
)
def test_phones_are_written_the_international_way(written: str, normalised: str) -> None:
    block = f"Press contact: Jane Doe, Tel: {written}, jane@example.org"
    contacts, _ = extract_contacts(release(BODY, block), "en")
    assert contacts == [Contact("Jane Doe", phone=normalised, email="jane@example.org")]


def test_a_labelled_number_without_a_country_code_is_kept_as_written() -> None:
    block = "Press contact: Jane Doe, tel. 022 917 12 34"
    contacts, body = extract_contacts(release(BODY, block), "en")
    assert contacts == [Contact("Jane Doe", phone="022 917 12 34")]
    assert body == BODY + "\n"


# -- where the block ends --------------------------------------------------------


def test_an_about_paragraph_after_the_block_stays_in_the_body() -> None:
    about = "**About the agency**\n\nThe agency helps people in need in 130 countries."
    block, contact = BLOCKS["en"]
    contacts, body = extract_contacts(release(BODY, block, about), "en")
    assert contacts == [contact]
    assert body == BODY + "\n\n" + about + "\n"


@pytest.mark.parametrize("marker", ["###", "-ends-", "***", "- END -"])
def test_an_end_marker_goes_but_what_follows_it_stays(marker: str) -> None:
    note = "Notes to editors: the report is published in six languages."
    block, contact = BLOCKS["en"]
    contacts, body = extract_contacts(release(BODY, block, marker, note), "en")
    assert contacts == [contact]
    assert body == BODY + "\n\n" + note + "\n"


def test_an_end_marker_just_before_the_block_goes_too() -> None:
    block, contact = BLOCKS["en"]
    assert extract_contacts(release(BODY, "###", block), "en") == ([contact], BODY + "\n")


@pytest.mark.parametrize(
    "about",
    [
        "À propos de l'agence",
        "О Агентстве",
        "Acerca de la agencia",
        "نبذة عن الوكالة",
        "关于本机构",
    ],
)
def test_boilerplate_headings_in_other_languages_end_the_block(about: str) -> None:
    block, contact = BLOCKS["fr"]
    tail = f"{about}\n\nTexte de présentation."
    contacts, body = extract_contacts(release(BODY, block, tail), "fr")
    assert contacts == [contact]
    assert body == BODY + "\n\n" + tail + "\n"


def test_a_paragraph_of_prose_after_the_block_stays_in_the_body() -> None:
    block, contact = BLOCKS["en"]
    prose = (
        "The agency was founded in 1950 to help people forced to flee their homes, "
        "and today works with partners in more than 130 countries around the world."
    )
    contacts, body = extract_contacts(release(BODY, block, prose), "en")
    assert contacts == [contact]
    assert body == BODY + "\n\n" + prose + "\n"


# -- nothing to take -------------------------------------------------------------


def test_no_block_leaves_the_text_unchanged() -> None:
    text = release(BODY, "Contact: our website lists all the offices.")
    assert extract_contacts(text, "en") == ([], text)


def test_an_intro_phrase_inside_a_sentence_in_the_middle_is_not_a_block() -> None:
    text = release(
        "The ministry said that for more information, please contact the local office.",
        "Teams will reach the valley next week.",
        "Jane Doe, who leads them, can be reached at jane@example.org.",
    )
    assert extract_contacts(text, "en") == ([], text)


def test_an_intro_opening_a_line_in_the_middle_with_no_one_after_it_is_not_taken() -> None:
    text = release(
        "For more information about the programme, see the annual report.",
        "Teams will reach the valley next week.",
    )
    assert extract_contacts(text, "en") == ([], text)


def test_an_intro_with_nothing_reachable_after_it_leaves_the_text_unchanged() -> None:
    text = release(BODY, "For more information, please contact:", "Jane Doe, Spokesperson")
    assert extract_contacts(text, "en") == ([], text)


def test_the_last_block_wins_and_an_earlier_mention_stays() -> None:
    early = "Para más información sobre el programa, visite el sitio web del ministerio."
    block, contact = BLOCKS["es"]
    text = release(early, BODY, block)
    assert extract_contacts(text, "es") == ([contact], early + "\n\n" + BODY + "\n")


def test_the_body_before_the_block_is_kept_byte_for_byte() -> None:
    before = "  Indented line\r\nwith *emphasis*  \n\n\n> a quote\n\n| a | b |\n|---|---|"
    block, contact = BLOCKS["en"]
    contacts, body = extract_contacts(before + "\n\n" + block, "en")
    assert contacts == [contact]
    assert body == before


@given(st.text())
def test_any_text_gives_a_result_and_never_loses_the_text_without_a_block(text: str) -> None:
    contacts, body = extract_contacts(text, "en")
    if not contacts:
        assert body == text


@given(st.lists(st.sampled_from([*(b for b, _ in BLOCKS.values()), "###", "", "x", "О"])))
def test_pieces_of_blocks_in_any_order_never_crash(pieces: list[str]) -> None:
    contacts, _ = extract_contacts("\n\n".join(pieces), "ru")
    assert all(c.name for c in contacts)
