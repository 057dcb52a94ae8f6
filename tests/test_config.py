"""config.toml: typed, strict about keys, relative to its own folder, secrets from the env."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from pressdispatch.config import load_settings
from pressdispatch.credentials import Credentials
from pressdispatch.errors import ConfigError

from .conftest import ROOT

MINIMAL = """\
[newsroom]
name = "Press Office"
from = "press@example.org"
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_sample_config_loads_with_paths_relative_to_the_file() -> None:
    settings = load_settings(ROOT / "config.toml")
    assert settings.newsroom.timezone == "Europe/Zurich"
    assert settings.paths.releases == ROOT / "releases"
    assert settings.paths.data == ROOT / "var"
    assert settings.database.url == f"sqlite:///{ROOT / 'var' / 'pressdispatch.db'}"
    assert settings.transport.kind == "outbox"
    assert settings.smtp.max_retry_age == timedelta(days=3)
    assert settings.scheduler.scan_interval == timedelta(seconds=15)


def test_defaults_for_every_section(tmp_path: Path) -> None:
    settings = load_settings(write(tmp_path, MINIMAL))
    assert settings.newsroom.languages == ("en",)
    assert settings.smtp.security == "starttls"
    assert settings.web.port == 8000
    assert settings.scheduler.max_lateness == timedelta(hours=24)
    assert settings.database.url == f"sqlite:///{tmp_path / 'var' / 'pressdispatch.db'}"


@pytest.mark.parametrize(
    ("extra", "expected"),
    [
        ("[smtp]\nhots = 'x'\n", "config.toml:6: smtp.hots: unknown key"),
        ("[smtp]\nport = 'abc'\n", "config.toml:6: smtp.port:"),
        ("[smtp]\npassword = 'hunter2'\n", "config.toml:6: smtp.password: unknown key"),
        ("[smpt]\nhost = 'x'\n", "config.toml:5: smpt: unknown key"),
        ("[smtp]\nsecurity = 'ssl'\n", "config.toml:6: smtp.security:"),
        ("[scheduler]\nscan_interval = 'soon'\n", "config.toml:6: scheduler.scan_interval:"),
        ("[transport]\nkind = 'carrier-pigeon'\n", "config.toml:6: transport.kind:"),
        ("[web]\nsigning_key_env = 'not a name'\n", "config.toml:6: web.signing_key_env:"),
        ("[web]\nfavicon = 'logo.bmp'\n", "config.toml:6: web.favicon:"),
    ],
)
def test_bad_keys_and_types_name_the_key_and_line(
    tmp_path: Path, extra: str, expected: str
) -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings(write(tmp_path, MINIMAL + "\n" + extra))
    assert expected in str(caught.value)


@pytest.mark.parametrize(
    ("line", "field"),
    [
        ('timezone = "Mars/Olympus"', "newsroom.timezone"),
        ('timezone = "+03:00"', "newsroom.timezone"),
        ('default_language = "xx"', "newsroom.default_language"),
        ('languages = ["fr"]', "newsroom"),  # default "en" not offered
        ('base_url = "press.example.org"', "newsroom.base_url"),
        ('reply_to = "not an address"', "newsroom.reply_to"),
        ('name = "Press\\r\\nBcc: x@example.com"', "newsroom.name"),
    ],
)
def test_newsroom_values_are_validated(tmp_path: Path, line: str, field: str) -> None:
    text = MINIMAL.replace('name = "Press Office"\n', "") if line.startswith("name") else MINIMAL
    with pytest.raises(ConfigError) as caught:
        load_settings(write(tmp_path, text.replace("[newsroom]\n", f"[newsroom]\n{line}\n")))
    assert f": {field}" in str(caught.value)


def test_missing_file_and_broken_toml(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="no such file"):
        load_settings(tmp_path / "absent.toml")
    with pytest.raises(ConfigError, match=r"config\.toml:2: newsroom\.name: not valid TOML"):
        load_settings(write(tmp_path, "[newsroom]\nname = \n"))


def test_favicon_is_resolved_against_the_config_folder_and_must_exist(tmp_path: Path) -> None:
    assert load_settings(write(tmp_path, MINIMAL)).web.favicon == Path()
    config = write(tmp_path, MINIMAL + "\n[web]\nfavicon = 'brand/icon.PNG'\n")
    with pytest.raises(ConfigError, match=r"web\.favicon: no such file: .*brand/icon\.PNG"):
        load_settings(config)
    (tmp_path / "brand").mkdir()
    (tmp_path / "brand" / "icon.PNG").write_bytes(b"\x89PNG")
    assert load_settings(config).web.favicon == tmp_path / "brand" / "icon.PNG"


def test_secrets_come_from_the_named_environment_variable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = load_settings(
        write(tmp_path, MINIMAL + "\n[smtp]\npassword_env = 'RELAY_PASSWORD'\n")
    )
    monkeypatch.delenv("RELAY_PASSWORD", raising=False)
    assert Credentials.read(settings).smtp_password is None
    monkeypatch.setenv("RELAY_PASSWORD", "s3cret")
    assert Credentials.read(settings).smtp_password == "s3cret"
