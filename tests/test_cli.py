"""The command line as a press officer uses it: check, plan, preview."""

from __future__ import annotations

import json
import subprocess
import sys
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path

import pytest
from typer.testing import CliRunner

from pressdispatch.cli import app

from .conftest import ROOT, WriteRelease, md

runner = CliRunner()

META = """\
publish_at = 2026-12-02T10:00:00+03:00
embargo_send_at = 2026-12-01T09:00:00+03:00
original_language = "fr"
regions = ["BY"]
topics = ["health"]
"""
LIST_ONE = """\
email,name,outlet,languages,regions,topics,embargo
a@example.org,Anna,Daily,ru en,europe,,yes
b@example.org,Boris,Weekly,en,BY,health,no
c@example.org,Carmen,Diario,es,,,no
d@example.org,Didier,Le Quotidien,,,,no
e@example.org,Efua,Africa Today,en,africa,,no
f@example.org,Femi,Water News,en,,water,no
g@example.org,Gao,Asia Post,zh fr,eastern-europe,,yes
"""
LIST_TWO = """\ufeffemail;name;languages;regions;embargo
A@Example.org;Anna P.;fr;asia;no
h@example.org;Hana;en;world;no
"""


@pytest.fixture
def planned(newsroom_dir: Path, release_writer: WriteRelease) -> Path:
    texts = {"fr": md("Titre"), "en": md("Title"), "ru": md("Заголовок")}
    release_writer("minsk", META, texts)
    (newsroom_dir / "subscribers" / "one.csv").write_text(LIST_ONE, encoding="utf-8")
    (newsroom_dir / "subscribers" / "two.csv").write_text(LIST_TWO, encoding="utf-8")
    return newsroom_dir / "config.toml"


def test_plan_counts_match_the_hand_computed_expectation(planned: Path) -> None:
    result = runner.invoke(app, ["--config", str(planned), "plan", "minsk", "--json"])
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    recipients = {r["email"]: (r["language"], r["tier"]) for r in document["recipients"]}
    assert recipients == {
        "a@example.org": ("ru", "embargoed"),  # on both lists: one recipient, first-seen casing
        "b@example.org": ("en", "public"),
        "d@example.org": ("fr", "public"),  # no languages: the original
        "g@example.org": ("fr", "embargoed"),  # no zh version: next preference
        "h@example.org": ("en", "public"),
    }
    counts = {(c["language"], c["tier"]): c["count"] for c in document["counts"]}
    assert counts == {
        ("en", "public"): 2,
        ("fr", "embargoed"): 1,
        ("fr", "public"): 1,
        ("ru", "embargoed"): 1,
    }
    assert document["total"] == 5
    embargoed = next(r for r in document["recipients"] if r["email"] == "a@example.org")
    assert embargoed["send_at"] == "2026-12-01T06:00:00+00:00"


def test_plan_table_lists_recipients_and_counts(planned: Path) -> None:
    result = runner.invoke(app, ["--config", str(planned), "plan", "minsk"])
    assert result.exit_code == 0, result.output
    assert "g@example.org" in result.stdout
    assert "fr embargoed: 1" in result.stdout
    assert "total: 5" in result.stdout


def test_plan_for_an_unknown_release_fails_clearly(planned: Path) -> None:
    result = runner.invoke(app, ["--config", str(planned), "plan", "nope"])
    assert result.exit_code == 1
    assert "no release 'nope' (known: minsk)" in result.stderr


def test_preview_writes_a_parseable_message(planned: Path) -> None:
    args = ["--config", str(planned), "preview", "minsk", "--to", "g@example.org", "--embargo"]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    message = message_from_bytes(result.stdout_bytes, policy=policy.default)
    assert isinstance(message, EmailMessage)
    assert message.get_content_type() == "multipart/alternative"
    assert message["To"] == "Gao <g@example.org>"
    assert message["Content-Language"] == "fr"  # Gao's best available language
    assert message["Subject"].startswith("[Sous embargo jusqu")
    for header in ("From", "Reply-To", "Date", "Message-ID", "List-Id", "List-Unsubscribe"):
        assert message[header], header
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"


def test_preview_formats_and_language(planned: Path) -> None:
    base = ["--config", str(planned), "preview", "minsk"]
    html = runner.invoke(app, [*base, "--lang", "ru", "--format", "html"])
    assert html.exit_code == 0, html.output
    assert html.stdout.lstrip().startswith("<!DOCTYPE html>")
    assert '<html lang="ru" dir="ltr">' in html.stdout
    text = runner.invoke(app, [*base, "--format", "text"])
    assert "Titre" in text.stdout
    missing = runner.invoke(app, [*base, "--lang", "ar"])
    assert missing.exit_code == 1
    assert "has no 'ar' version" in missing.stderr


@pytest.mark.e2e  # a real process
def test_check_passes_on_the_sample_newsroom() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "pressdispatch", "--config", str(ROOT / "config.toml"), "check"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.strip().endswith("0 errors, 0 warnings")
    assert "5 releases (1 draft, 4 ready)" in result.stdout


def test_check_reports_a_broken_config(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text(
        '[newsroom]\nname = "X"\nfrom = "p@example.org"\nbogus = 1\n', encoding="utf-8"
    )
    result = runner.invoke(app, ["--config", str(config), "check"])
    assert result.exit_code == 1
    assert f"{config}:4: newsroom.bogus: unknown key" in result.stdout


def test_check_reports_a_broken_template(planned: Path) -> None:
    template = planned.parent / "templates" / "email" / "release.txt.j2"
    template.write_text("{{ t.title }\n", encoding="utf-8")
    result = runner.invoke(app, ["--config", str(planned), "check"])
    assert result.exit_code == 1
    assert "release.txt.j2:1:" in result.stdout
