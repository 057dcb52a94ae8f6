"""Subscriber lists as spreadsheets really save them: real CSV files in a temporary folder."""

from __future__ import annotations

import inspect
import itertools
from pathlib import Path

import pytest
from email_validator import EmailNotValidError, validate_email
from hypothesis import given
from hypothesis import strategies as st

from pressdispatch.content.subscribers import Row, load_subscribers, read_subscriber_file
from pressdispatch.errors import Problem
from pressdispatch.model import Subscriber
from pressdispatch.regions import load_regions
from pressdispatch.vocabulary import normalize_address

REGIONS = load_regions()


@pytest.fixture
def folder(newsroom_dir: Path) -> Path:
    return newsroom_dir / "subscribers"


def write(folder: Path, name: str, content: str | bytes) -> Path:
    """Write a list byte for byte (no newline translation)."""
    path = folder / name
    path.write_bytes(content.encode("utf-8") if isinstance(content, str) else content)
    return path


def read(path: Path) -> tuple[list[Row], list[Problem]]:
    rows: list[Row] = []
    problems: list[Problem] = []
    for item in read_subscriber_file(path, REGIONS):
        if isinstance(item, Problem):
            problems.append(item)
        else:
            rows.append(item)
    return rows, problems


def where(problems: list[Problem]) -> list[tuple[int | None, str]]:
    return [(p.line, p.field) for p in problems]


def one_row(folder: Path, header: str, cells: str) -> Subscriber:
    rows, problems = read(write(folder, "list.csv", f"{header}\n{cells}\n"))
    assert problems == []
    assert len(rows) == 1
    return rows[0].subscriber


# -- file formats ---------------------------------------------------------------------


def test_crlf_line_endings(folder: Path) -> None:
    path = write(
        folder,
        "excel.csv",
        "email,name,outlet,embargo\r\n"
        "a@example.org,Ann Lee,Daily One,yes\r\n"
        "b@example.org,Bo Chen,Weekly Two,no\r\n",
    )
    rows, problems = read(path)
    assert problems == []
    assert [(r.line, r.subscriber.email, r.subscriber.name, r.subscriber.outlet) for r in rows] == [
        (2, "a@example.org", "Ann Lee", "Daily One"),
        (3, "b@example.org", "Bo Chen", "Weekly Two"),
    ]
    assert [r.subscriber.embargo for r in rows] == [True, False]


def test_bom_with_semicolon_delimiter(folder: Path) -> None:
    path = write(
        folder,
        "regional-desks.csv",
        b"\xef\xbb\xbf"
        + "email;name;outlet;languages;regions\r\n"
        "helene@example.com;Hélène Girard;La Gazette, Lyon;fr en;europe\r\n".encode(),
    )
    rows, problems = read(path)
    assert problems == []  # the BOM did not turn "email" into an unknown column
    (row,) = rows
    assert row.line == 2
    assert row.subscriber == Subscriber(
        email="helene@example.com",
        name="Hélène Girard",
        outlet="La Gazette, Lyon",
        languages=("fr", "en"),
        regions=frozenset({"europe"}),
        lists=("regional-desks",),
    )


def test_tab_delimiter(folder: Path) -> None:
    path = write(folder, "tabs.csv", "email\tname\tregions\na@example.org\tAnn, Lee\tBY europe\n")
    rows, problems = read(path)
    assert problems == []
    (row,) = rows
    assert (row.subscriber.email, row.subscriber.name) == ("a@example.org", "Ann, Lee")
    assert row.subscriber.regions == {"by", "europe"}


@pytest.mark.parametrize(
    ("delimiter", "outlet_cell", "outlet"),
    [
        (",", '"Le Courrier du Léman, Genève"', "Le Courrier du Léman, Genève"),
        (";", '"Radio; Télé"', "Radio; Télé"),
        (",", '"The ""Evening"" Post, Lagos"', 'The "Evening" Post, Lagos'),
    ],
)
def test_quoted_cell_containing_the_delimiter(
    folder: Path, delimiter: str, outlet_cell: str, outlet: str
) -> None:
    header = delimiter.join(["email", "outlet", "embargo"])
    row = delimiter.join(["c@example.com", outlet_cell, "yes"])
    subscriber = one_row(folder, header, row)
    assert subscriber.outlet == outlet
    assert subscriber.embargo is True


@pytest.mark.parametrize("newline", ["\n", "\r\n"])
def test_a_quoted_cell_spanning_lines_is_reported_where_it_opens(
    folder: Path, newline: str
) -> None:
    lines = [
        "email,name,outlet",  # 1
        'a@example.org,Ann,"Daily One',  # 2: the quoted outlet starts here...
        'Evening Edition"',  # 3: ...and ends here
        "not-an-email,Bad,Row",  # 4
        'b@example.org,"Bo',  # 5
        'Chen",Two',  # 6
        "c@example.org,Cy,Three",  # 7
        "d@example.org,Di,Four,extra",  # 8
        'e@example.org,"Eve,Five',  # 9: never closed
        "f@example.org,Fay,Six",  # 10
    ]
    rows, problems = read(write(folder, "multi.csv", newline.join(lines) + newline))
    assert [(r.line, r.subscriber.email) for r in rows] == [
        (7, "c@example.org"),
        (10, "f@example.org"),
    ]
    assert where(problems) == [(2, "(row)"), (4, "email"), (5, "(row)"), (8, "(row)"), (9, "(row)")]
    assert "lines 2-3" in problems[0].message
    assert "not closed" in problems[4].message


# -- header ---------------------------------------------------------------------------


def test_header_names_ignore_case_and_spaces(folder: Path) -> None:
    subscriber = one_row(
        folder, "Email , Name,OUTLET ,LANGUAGES,  Regions,Topics,EMBARGO", "a@x.org,A,O,ru,BY,h,yes"
    )
    assert subscriber == Subscriber(
        email="a@x.org",
        name="A",
        outlet="O",
        languages=("ru",),
        regions=frozenset({"by"}),
        topics=frozenset({"h"}),
        embargo=True,
        lists=("list",),
    )


def test_unknown_column_is_reported_once_on_line_1_and_rows_still_load(folder: Path) -> None:
    path = write(
        folder,
        "notes.csv",
        "email,langauges,name\na@example.org,fr,Ann\nb@example.org,en,Bo\nc@example.org,ru,Cy\n",
    )
    rows, problems = read(path)
    assert where(problems) == [(1, "langauges")]
    assert "unknown column" in problems[0].message
    assert [r.subscriber.email for r in rows] == ["a@example.org", "b@example.org", "c@example.org"]
    assert [r.subscriber.name for r in rows] == ["Ann", "Bo", "Cy"]
    # The misspelt column's cells are not used.
    assert all(r.subscriber.languages == () for r in rows)


def test_file_without_email_column_is_one_problem_and_no_rows(folder: Path) -> None:
    path = write(folder, "noemail.csv", "mail,name\na@example.org,Ann\nb@example.org,Bo\n")
    rows, problems = read(path)
    assert rows == []
    assert where(problems) == [(1, "email")]
    assert problems[0].path == path


@pytest.mark.parametrize("content", [b"", b"\xef\xbb\xbf"])
def test_empty_file_is_one_problem(folder: Path, content: bytes) -> None:
    path = write(folder, "empty.csv", content)
    rows, problems = read(path)
    assert rows == []
    assert len(problems) == 1
    assert problems[0].path == path
    assert "empty" in problems[0].message


# -- bad rows -------------------------------------------------------------------------


def test_bytes_that_are_not_utf8_spoil_only_their_row(folder: Path) -> None:
    path = write(
        folder,
        "latin1.csv",
        b"email,name,outlet\n"
        b"a@example.org,Ann,One\n"
        b"b@example.org,Ren\xe9 Dupont,Two\n"  # Latin-1 e-acute
        b"c@example.org,Cy,Three\n"
        b"d@example.org,Di,\xff\xfe\n"
        b"e@example.org,\xc3\xa9lodie,Five\n",  # genuine UTF-8 e-acute
    )
    rows, problems = read(path)
    assert where(problems) == [(3, "name"), (5, "outlet")]
    assert all("UTF-8" in p.message for p in problems)
    assert [(r.line, r.subscriber.email) for r in rows] == [
        (2, "a@example.org"),
        (4, "c@example.org"),
        (6, "e@example.org"),
    ]
    assert rows[-1].subscriber.name == "élodie"


def test_row_with_more_cells_than_the_header_is_reported(folder: Path) -> None:
    path = write(
        folder,
        "extra.csv",
        "email,name\na@example.org,Ann\nb@example.org,Bo,Daily Two\nc@example.org,Cy\n",
    )
    rows, problems = read(path)
    assert where(problems) == [(3, "(row)")]
    assert "3 cells" in problems[0].message
    assert [r.subscriber.email for r in rows] == ["a@example.org", "c@example.org"]


def test_row_with_fewer_cells_than_the_header_is_fine(folder: Path) -> None:
    subscriber = one_row(folder, "email,name,outlet,embargo", "a@example.org,Ann")
    assert (subscriber.name, subscriber.outlet, subscriber.embargo) == ("Ann", "", False)


def test_blank_lines_are_skipped_silently(folder: Path) -> None:
    path = write(
        folder,
        "gaps.csv",
        "email,name\n\na@example.org,Ann\n\n\n , \n,,\nb@example.org,Bo\n\nnot-an-email,X\n\n",
    )
    rows, problems = read(path)
    assert [(r.line, r.subscriber.email) for r in rows] == [
        (3, "a@example.org"),
        (8, "b@example.org"),
    ]
    assert where(problems) == [(10, "email")]


def test_every_problem_in_a_row_is_reported(folder: Path) -> None:
    path = write(
        folder,
        "bad.csv",
        "email,languages,regions,topics,embargo\nnope,xx,narnia,food_security,maybe\n",
    )
    rows, problems = read(path)
    assert rows == []
    assert where(problems) == [
        (2, "email"),
        (2, "languages"),
        (2, "regions"),
        (2, "topics"),
        (2, "embargo"),
    ]


def test_cell_longer_than_1000_characters_is_reported(folder: Path) -> None:
    path = write(folder, "long.csv", f"email,name\na@example.org,{'x' * 1001}\nb@x.org,B\n")
    rows, problems = read(path)
    assert where(problems) == [(2, "name")]
    assert [r.subscriber.email for r in rows] == ["b@x.org"]


def test_empty_email_is_reported(folder: Path) -> None:
    rows, problems = read(write(folder, "e.csv", "email,name\n ,Ann\n"))
    assert rows == []
    assert where(problems) == [(2, "email")]


# -- cell values ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("cell", "expected"),
    [
        ("fr en", ("fr", "en")),
        ("fr;en", ("fr", "en")),
        ('"fr, en"', ("fr", "en")),
        ("FR En", ("fr", "en")),
        ("  ru ;  EN  ", ("ru", "en")),
        ("fr en FR fr", ("fr", "en")),
        ("kk ru", ("kk", "ru")),
        ("", ()),
    ],
)
def test_languages_cell(folder: Path, cell: str, expected: tuple[str, ...]) -> None:
    assert one_row(folder, "email,languages", f"a@example.org,{cell}").languages == expected


@pytest.mark.parametrize("cell", ["xx", "fra", "fr-CA", "fr en zz"])
def test_bad_language_is_reported(folder: Path, cell: str) -> None:
    rows, problems = read(write(folder, "l.csv", f"email,languages\na@example.org,{cell}\n"))
    assert rows == []
    assert where(problems) == [(2, "languages")]


def test_languages_in_a_semicolon_file_use_spaces(folder: Path) -> None:
    subscriber = one_row(folder, "email;languages;embargo", "a@example.org;ru EN;yes")
    assert subscriber.languages == ("ru", "en")
    assert subscriber.embargo is True


@pytest.mark.parametrize(
    ("cell", "expected"),
    [
        ("BY", {"by"}),
        ("by", {"by"}),
        ("bY", {"by"}),
        ("eastern-europe", {"eastern-europe"}),
        ("Eastern-Europe", {"eastern-europe"}),
        ("eastern_europe", {"eastern-europe"}),
        ("151", {"eastern-europe"}),
        ("BY;europe TD", {"by", "europe", "td"}),
        ("by BY 112", {"by"}),
        ("world", {"world"}),
    ],
)
def test_regions_cell(folder: Path, cell: str, expected: set[str]) -> None:
    subscriber = one_row(folder, "email,regions", f"a@example.org,{cell}")
    assert subscriber.regions == expected


@pytest.mark.parametrize("cell", ["narnia", "XX", "999", "BY atlantis"])
def test_unknown_region_is_reported(folder: Path, cell: str) -> None:
    rows, problems = read(write(folder, "r.csv", f"email,regions\na@example.org,{cell}\n"))
    assert rows == []
    assert where(problems) == [(2, "regions")]


def test_empty_regions_and_topics_mean_everything(folder: Path) -> None:
    rows, _ = read(write(folder, "all.csv", "email,regions,topics\na@example.org,,\n"))
    (row,) = rows
    assert (row.everything_regions, row.everything_topics) == (True, True)
    assert (row.subscriber.regions, row.subscriber.topics) == (frozenset(), frozenset())


def test_topics_are_lowercased(folder: Path) -> None:
    subscriber = one_row(folder, "email,topics", "a@example.org,Health WATER;Food-Security")
    assert subscriber.topics == {"health", "water", "food-security"}


def test_names_have_runs_of_spaces_collapsed(folder: Path) -> None:
    subscriber = one_row(folder, "email,name,outlet", "a@example.org,  Анна   Петрова , Radio  X ")
    assert (subscriber.name, subscriber.outlet) == ("Анна Петрова", "Radio X")


@pytest.mark.parametrize(
    ("cell", "cleared"),
    [
        ("yes", True),
        ("YES", True),
        (" Yes ", True),
        ("true", True),
        ("1", True),
        ("x", True),
        ("oui", True),
        ("да", True),
        ("no", False),
        ("", False),
        ("false", False),
        ("0", False),
        ("нет", False),
    ],
)
def test_embargo_cell(folder: Path, cell: str, cleared: bool) -> None:
    assert one_row(folder, "email,embargo", f"a@example.org,{cell}").embargo is cleared


@pytest.mark.parametrize("cell", ["maybe", "later", "2", "yes please"])
def test_bad_embargo_value_is_an_error_not_a_guess(folder: Path, cell: str) -> None:
    rows, problems = read(write(folder, "e.csv", f"email,embargo\na@example.org,{cell}\n"))
    assert rows == []
    assert where(problems) == [(2, "embargo")]
    assert cell in problems[0].message


# -- merging --------------------------------------------------------------------------

HEADER = "email,name,outlet,languages,regions,topics,embargo"


def test_merge_rules_across_two_lists(folder: Path) -> None:
    # Written second-list first: lists are read in file-name order, not creation order.
    write(
        folder,
        "b-regional.csv",
        f"{HEADER}\n"
        "Anna.Petrova@Example.net,Anna P.,Other Outlet,en fr,central-asia,water,no\n"
        "moussa@example.com,,,fr en,TD,food,no\n"
        "lucia@example.com,Lucía Fernández,Radio Andina,es en,,water climate,yes\n"
        "only.b@example.com,B,,,,,no\n",
    )
    write(
        folder,
        "a-international.csv",
        f"{HEADER}\n"
        "anna.petrova@example.net,Анна Петрова,,ru;en,BY,health,yes\n"
        "moussa@example.com,Moussa Diallo,,fr,western-africa,,yes\n"
        "Lucia@Example.COM,,Diario del Altiplano,es,americas,water climate,no\n",
    )
    subscribers, problems = load_subscribers(folder, REGIONS)
    assert problems == []  # the same journalist on two lists is not a mistake
    by_key = {s.key: s for s in subscribers}
    assert list(by_key) == [
        "anna.petrova@example.net",
        "moussa@example.com",
        "lucia@example.com",
        "only.b@example.com",
    ]

    assert by_key["anna.petrova@example.net"] == Subscriber(
        email="anna.petrova@example.net",
        name="Анна Петрова",
        outlet="Other Outlet",  # the first list gave none
        languages=("ru", "en", "fr"),
        regions=frozenset({"by", "central-asia"}),
        topics=frozenset({"health", "water"}),
        embargo=True,
        lists=("a-international", "b-regional"),
    )
    assert by_key["moussa@example.com"] == Subscriber(
        email="moussa@example.com",
        name="Moussa Diallo",
        languages=("fr", "en"),
        regions=frozenset({"western-africa", "td"}),
        topics=frozenset(),  # the empty cell on the first list wins over "food"
        embargo=True,
        lists=("a-international", "b-regional"),
    )
    assert by_key["lucia@example.com"] == Subscriber(
        email="Lucia@example.com",  # as first written, domain lowercased
        name="Lucía Fernández",
        outlet="Diario del Altiplano",
        languages=("es", "en"),
        regions=frozenset(),  # the empty cell on the second list wins over "americas"
        topics=frozenset({"water", "climate"}),
        embargo=True,  # granted by the second list only
        lists=("a-international", "b-regional"),
    )
    assert by_key["only.b@example.com"].lists == ("b-regional",)
    assert by_key["only.b@example.com"].embargo is False


def test_embargo_not_granted_when_no_list_grants_it(folder: Path) -> None:
    write(folder, "one.csv", "email,embargo\na@example.org,no\n")
    write(folder, "two.csv", "email,embargo\nA@EXAMPLE.ORG,\n")
    subscribers, problems = load_subscribers(folder, REGIONS)
    assert problems == []
    assert [(s.email, s.embargo, s.lists) for s in subscribers] == [
        ("a@example.org", False, ("one", "two"))
    ]


def test_case_insensitive_duplicates_across_files_give_one_subscriber(folder: Path) -> None:
    write(folder, "1.csv", "email\nMarta.Kowalska@Example.NET\n")
    write(folder, "2.csv", "email\nmarta.kowalska@example.net\n")
    write(folder, "3.csv", "email\nMARTA.KOWALSKA@EXAMPLE.NET\n")
    subscribers, problems = load_subscribers(folder, REGIONS)
    assert problems == []
    (subscriber,) = subscribers
    assert subscriber.email == "Marta.Kowalska@example.net"
    assert subscriber.lists == ("1", "2", "3")


def test_duplicate_in_the_same_file_is_reported_and_merged(folder: Path) -> None:
    path = write(
        folder,
        "desks.csv",
        "email,languages,topics\nmarta@example.net,pl,health\nann@x.org,,\n"
        "MARTA@example.net,en,water\n",
    )
    rows, problems = read(path)
    assert where(problems) == [(4, "email")]
    assert "line 2" in problems[0].message
    assert [r.line for r in rows] == [2, 3, 4]  # the duplicate row is still used
    subscribers, problems = load_subscribers(folder, REGIONS)
    assert where(problems) == [(4, "email")]
    marta = next(s for s in subscribers if s.key == "marta@example.net")
    assert (marta.languages, marta.topics, marta.lists) == (
        ("pl", "en"),
        frozenset({"health", "water"}),
        ("desks",),
    )


def test_bad_rows_in_one_list_do_not_stop_the_others(folder: Path) -> None:
    write(folder, "a.csv", "email,regions\nnot-an-email,\nok1@example.org,narnia\n")
    write(folder, "b.csv", "name\nNo email column\n")
    write(folder, "c.csv", "email\nok2@example.org\n")
    write(folder, "notes.txt", "not a list\n")
    subscribers, problems = load_subscribers(folder, REGIONS)
    assert [s.email for s in subscribers] == ["ok2@example.org"]
    assert [(p.path.name, p.line, p.field) for p in problems] == [
        ("a.csv", 2, "email"),
        ("a.csv", 3, "regions"),
        ("b.csv", 1, "email"),
    ]


def test_missing_folder_is_one_problem(tmp_path: Path) -> None:
    subscribers, problems = load_subscribers(tmp_path / "nowhere", REGIONS)
    assert subscribers == []
    assert len(problems) == 1


# -- streaming ------------------------------------------------------------------------


def test_reading_is_streamed_row_by_row(folder: Path) -> None:
    body = "".join(f"j{n}@example.org,Journalist {n},fr en\n" for n in range(50_000))
    path = write(folder, "big.csv", "email,name,languages\n" + body)
    items = read_subscriber_file(path, REGIONS)
    assert inspect.isgenerator(items)  # not a list built from the whole file
    first = list(itertools.islice(items, 3))
    items.close()
    rows = [item for item in first if isinstance(item, Row)]
    assert [(r.line, r.subscriber.email) for r in rows] == [
        (2, "j0@example.org"),
        (3, "j1@example.org"),
        (4, "j2@example.org"),
    ]


_ADDRESS_PARTS = st.sampled_from(
    [
        "a",
        "Zoë",
        "x.y",
        "..",
        ".",
        "@",
        "-",
        "_",
        "+tag",
        '"q"',
        "POSTMASTER",
        "abuse",
        "example",
        "ORG",
        "com",
        "xn--bcher-kva",
        "bücher",
        "localhost",
        "1",
        "[127.0.0.1]",
        " ",
        "a" * 64,
        "b" * 63,
        "<",
        ">",
        "!#$%&'*/=?^`{|}~",
    ]
)


@given(st.lists(_ADDRESS_PARTS, min_size=1, max_size=8).map("".join))
def test_an_address_normalises_as_email_validator_says(text: str) -> None:
    """Lists check each domain once: the answer is still email-validator's, valid or not."""
    try:
        expected: str | None = validate_email(text.strip(), check_deliverability=False).normalized
    except EmailNotValidError:
        expected = None
    try:
        got: str | None = normalize_address(text)
    except ValueError:
        got = None
    assert got == expected


def test_many_rows_of_one_domain_are_checked_as_one_would_be(folder: Path) -> None:
    rows = "".join(f"J{i}.Name@News.Example.ORG,J {i}\n" for i in range(50))
    found, problems = read(write(folder, "wire.csv", "email,name\n" + rows))
    assert problems == []
    assert [r.subscriber.email for r in found][:2] == [
        "J0.Name@news.example.org",
        "J1.Name@news.example.org",
    ]
