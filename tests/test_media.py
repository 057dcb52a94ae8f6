"""A release's media in its folder: what `check` says of them, and the copies Pillow makes.

Real files written with Pillow in a temporary newsroom, loaded by the loader `check`
runs; copies made by render/images.py and read back with Pillow.
"""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pytest
from PIL import ExifTags, Image

from pressdispatch.content.media import load_media
from pressdispatch.content.releases import load_release
from pressdispatch.errors import Problem
from pressdispatch.model import Release
from pressdispatch.regions import load_regions
from pressdispatch.render.images import MediaFiles
from pressdispatch.sizes import KiB

from .dispatching import Newsroom, cli, make_newsroom, sqlite_url, utc

LANGUAGES = ("en", "fr")
ALT = '{ en = "A field", fr = "Un champ" }'


def picture(
    path: Path, size: tuple[int, int] = (800, 500), *, kind: str = "JPEG", gps: bool = False
) -> Path:
    """A picture of ``size``; with ``gps``, EXIF saying where it was taken."""
    path.parent.mkdir(parents=True, exist_ok=True)
    image = Image.new("RGB", size, (200, 150, 90))
    options: dict[str, object] = {}
    if gps:
        exif = Image.Exif()
        exif[ExifTags.Base.Artist] = "Ana Lima"
        exif[ExifTags.Base.Orientation] = 1
        gps_ifd = exif.get_ifd(ExifTags.IFD.GPSInfo)
        gps_ifd[ExifTags.GPS.GPSLatitudeRef] = "N"
        gps_ifd[ExifTags.GPS.GPSLatitude] = (14.0, 53.0, 19.0)
        gps_ifd[ExifTags.GPS.GPSLongitudeRef] = "E"
        gps_ifd[ExifTags.GPS.GPSLongitude] = (5.0, 15.0, 56.0)
        options["exif"] = exif.tobytes()
    image.save(path, kind, **options)
    return path


def entry(file: str, *, alt: str = ALT, hero: bool = False, extra: str = "") -> str:
    lines = ["", "[[media]]", f'file = "{file}"']
    if alt:
        lines.append(f"alt = {alt}")
    if hero:
        lines.append("hero = true")
    if extra:
        lines.append(extra)
    return "\n".join(lines) + "\n"


def with_media(newsroom: Newsroom, release_id: str, *entries: str) -> Path:
    folder = newsroom.release(release_id, publish_at=utc(3600), languages=LANGUAGES)
    with (folder / "release.toml").open("a", encoding="utf-8") as handle:
        handle.write("".join(entries))
    return folder


def load(
    newsroom: Newsroom, folder: Path, max_media_size: int = 25 * 1024 * KiB
) -> tuple[Release | None, list[Problem]]:
    return load_release(
        folder,
        regions=load_regions(),
        languages=("en", "fr", "ar"),
        default_language="en",
        max_media_size=max_media_size,
    )


def line_of(folder: Path, text: str) -> int:
    lines = (folder / "release.toml").read_text(encoding="utf-8").split("\n")
    return next(n for n, line in enumerate(lines, 1) if text in line)


@pytest.fixture
def newsroom(tmp_path: Path) -> Newsroom:
    return make_newsroom(tmp_path, sqlite_url(tmp_path))


# -- what check says --------------------------------------------------------------------------


def test_valid_media_load_with_their_type_from_the_bytes_and_the_hero_first(
    newsroom: Newsroom,
) -> None:
    folder = with_media(
        newsroom,
        "launch",
        entry("media/report.pdf", alt=""),
        entry("media/field.jpg"),
        entry("media/map.png", hero=True, extra='caption = { en = "The map" }\ncredit = "© Us"'),
    )
    (folder / "media").mkdir()
    (folder / "media" / "report.pdf").write_bytes(
        b"%PDF-1.7\n%\xe2\xe3\n1 0 obj\n<<>>\nendobj\n%%EOF\n"
    )
    picture(folder / "media" / "field.jpg")
    picture(folder / "media" / "map.png", (300, 200), kind="PNG")
    release, problems = load(newsroom, folder)
    assert problems == []
    assert release is not None
    assert [(m.name, m.mime, m.hero) for m in release.media] == [
        ("map.png", "image/png", True),
        ("report.pdf", "application/pdf", False),
        ("field.jpg", "image/jpeg", False),
    ]
    hero = release.hero
    assert hero is not None and (hero.width, hero.height) == (300, 200)
    assert hero.caption_in("fr", "en") == "The map"  # the original language's, for want of one
    assert hero.credit == "© Us"


def test_each_bad_file_is_reported_at_its_line_and_the_valid_ones_still_go_through(
    newsroom: Newsroom, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = with_media(
        newsroom,
        "launch",
        entry("media/gone.jpg"),
        entry("media/notes.jpg"),
        entry("media/big.jpg"),
        entry("media/no-french.jpg", alt='{ en = "A field" }'),
        entry("media/first.jpg", hero=True),
        entry("media/second.jpg", hero=True),
        entry("media/bomb.png"),
        entry("../release.toml"),
    )
    media = folder / "media"
    media.mkdir()
    (media / "notes.jpg").write_text("not a picture, whatever its name says\n", encoding="utf-8")
    picture(media / "big.jpg", (1200, 1200))
    picture(media / "no-french.jpg", (40, 30))
    picture(media / "first.jpg", (40, 30))
    picture(media / "second.jpg", (40, 30))
    picture(media / "bomb.png", (200, 200), kind="PNG")
    picture(media / "stray.jpg", (40, 30))
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 30_000)  # bomb.png's 40,000 are too many
    big = (media / "big.jpg").stat().st_size
    release, problems = load(newsroom, folder, max_media_size=big - 1)

    assert release is not None and [m.name for m in release.media] == ["first.jpg"]
    meta = folder / "release.toml"
    errors = {(p.line, p.field): p.message for p in problems if p.is_error and p.path == meta}
    assert "missing" in errors[(line_of(folder, "gone.jpg"), "media.file")]
    assert "unknown type" in errors[(line_of(folder, "notes.jpg"), "media.file")]
    assert "over the limit" in errors[(line_of(folder, "big.jpg"), "media.file")]
    assert "content.max_media_size" in errors[(line_of(folder, "big.jpg"), "media.file")]
    no_alt = errors[(line_of(folder, 'alt = { en = "A field" }'), "media.alt")]
    assert "no alt text in fr" in no_alt
    second_hero = line_of(folder, "second.jpg") + 2  # its hero = true
    assert "a second hero" in errors[(second_hero, "media.hero")]
    assert "too many" in errors[(line_of(folder, "bomb.png"), "media.file")]
    assert "directly in media/" in errors[(line_of(folder, "../release.toml"), "media.file")]
    assert len(errors) == 7
    warnings = [p for p in problems if not p.is_error]
    assert [(p.path.name, p.field) for p in warnings] == [("stray.jpg", "media")]
    assert "not described" in warnings[0].message


def test_a_file_named_as_one_type_but_of_another_is_served_as_its_bytes_say(
    newsroom: Newsroom,
) -> None:
    folder = with_media(newsroom, "launch", entry("media/photo.jpg"))
    picture(folder / "media" / "photo.jpg", kind="PNG")
    release, problems = load(newsroom, folder)
    assert release is not None and release.media[0].mime == "image/png"
    assert [(p.severity.value, "PNG" in p.message) for p in problems] == [("warning", True)]


def test_an_image_that_says_where_it_was_taken_is_a_warning(newsroom: Newsroom) -> None:
    folder = with_media(newsroom, "launch", entry("media/photo.jpg"))
    picture(folder / "media" / "photo.jpg", gps=True)
    release, problems = load(newsroom, folder)
    assert release is not None and len(release.media) == 1
    assert [p.severity.value for p in problems] == ["warning"]
    assert "GPS" in problems[0].message


def test_check_prints_media_problems_with_file_and_line_and_fails(newsroom: Newsroom) -> None:
    folder = with_media(
        newsroom, "launch", entry("media/gone.jpg"), entry("media/a.jpg", hero=True)
    )
    picture(folder / "media" / "a.jpg")
    picture(folder / "media" / "b.jpg")
    result = cli(newsroom, "check", code=1)
    assert f"release.toml:{line_of(folder, 'gone.jpg')}: error: media.file" in result.output
    assert "b.jpg: warning: media: not described" in result.output


def test_no_media_folder_and_no_entries_is_no_problem(tmp_path: Path) -> None:
    media, problems = load_media(
        tmp_path, [], languages=("en",), meta_path=tmp_path / "release.toml", meta_text=""
    )
    assert media == () and problems == []


# -- the copies ---------------------------------------------------------------------------------


def test_copies_are_resized_upright_and_without_gps_and_cached_by_content(tmp_path: Path) -> None:
    source = picture(tmp_path / "photo.jpg", (3000, 2000), gps=True)
    with Image.open(source) as original:  # the original keeps what the camera said
        assert original.getexif().get_ifd(ExifTags.IFD.GPSInfo)
    files = MediaFiles(tmp_path / "cache")
    for width, ext, kind in ((600, "jpg", "JPEG"), (1200, "webp", "WEBP"), (2400, "jpg", "JPEG")):
        made = files.derivative(source, width, ext)
        assert made.is_relative_to(tmp_path / "cache")
        with Image.open(made) as copy:
            assert copy.format == kind
            assert copy.size == (width, round(2000 * width / 3000))
            exif = copy.getexif()
            assert exif.get_ifd(ExifTags.IFD.GPSInfo) == {}
            assert ExifTags.IFD.GPSInfo not in exif
            assert exif.get(ExifTags.Base.Artist) == "Ana Lima"  # the credit stays
            assert "xmp" not in copy.info
    again = files.derivative(source, 600, "jpg")
    assert again == files.derivative(source, 600, "jpg")
    assert again.stat().st_mtime_ns == files.derivative(source, 600, "jpg").stat().st_mtime_ns


def test_a_copy_is_never_larger_than_the_original_and_transparency_is_kept_in_webp(
    tmp_path: Path,
) -> None:
    source = tmp_path / "logo.png"
    Image.new("RGBA", (300, 100), (0, 0, 0, 0)).save(source)
    files = MediaFiles(tmp_path / "cache")
    with Image.open(files.derivative(source, 1200, "webp")) as copy:
        assert copy.size == (300, 100) and copy.mode == "RGBA"
    with Image.open(files.derivative(source, 1200, "jpg")) as flat:
        assert flat.mode == "RGB" and flat.getpixel((0, 0)) == (255, 255, 255)


def test_the_zip_holds_every_original_and_the_credits(tmp_path: Path) -> None:
    a = picture(tmp_path / "a.jpg")
    b = tmp_path / "b.pdf"
    b.write_bytes(b"%PDF-1.4\n%%EOF\n")
    made = MediaFiles(tmp_path / "cache").bundle([("a.jpg", a), ("b.pdf", b)], "Credits\n")
    with zipfile.ZipFile(io.BytesIO(made.read_bytes())) as archive:
        assert archive.namelist() == ["a.jpg", "b.pdf", "CREDITS.txt"]
        assert archive.read("a.jpg") == a.read_bytes()
        assert archive.read("CREDITS.txt") == b"Credits\n"
