"""A release's pictures and documents: ``[[media]]`` entries of release.toml, files in
``media/``. Pure but for reading the files.

What a file is comes from its bytes (``%PDF-``, or what Pillow recognises), never from
its name. Each entry is checked on its own: a bad one (missing, of another type, too
large, an image without alt text in one of the release's languages, a second hero) is
an error that `check` reports at its line, and the entry is left out; the release and
its other media still go out. A file in ``media/`` that no entry describes is a warning:
it is never published.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from PIL import ExifTags, Image, UnidentifiedImageError

from pressdispatch.content.fields import MediaFields
from pressdispatch.errors import Problem, Severity, UnknownLanguage
from pressdispatch.model import Media
from pressdispatch.sizes import MiB, format_size
from pressdispatch.textlines import key_line
from pressdispatch.vocabulary import normalize_language

__all__ = [
    "DEFAULT_MAX_MEDIA",
    "FOLDER",
    "PDF",
    "NotMedia",
    "Sniffed",
    "load_media",
    "media_stamp",
    "sniff",
]

FOLDER = "media"
DEFAULT_MAX_MEDIA = 25 * MiB  # content.max_media_size
PDF = "application/pdf"
IMAGE_TYPES = {"JPEG": "image/jpeg", "PNG": "image/png", "WEBP": "image/webp"}
_EXTENSIONS = {
    "image/jpeg": (".jpg", ".jpeg"),
    "image/png": (".png",),
    "image/webp": (".webp",),
    PDF: (".pdf",),
}
_TYPES = "JPEG, PNG or WebP images and PDF documents"


@dataclass(frozen=True, slots=True)
class Sniffed:
    mime: str
    width: int = 0
    height: int = 0
    gps: bool = False  # the image says where it was taken


@dataclass(frozen=True, slots=True)
class _Report:
    """A problem of entry ``index``, at the line of its ``key``."""

    path: Path
    text: str
    index: int

    def __call__(self, message: str, key: str = "file", *, warning: bool = False) -> Problem:
        line = key_line(self.text, ["media", str(self.index), key])
        severity = Severity.WARNING if warning else Severity.ERROR
        return Problem(self.path, line, f"media.{key}", message, severity)


class NotMedia(Exception):
    """What a file is not, in words for the press officer."""


def sniff(path: Path) -> Sniffed:
    """What the bytes of ``path`` are; NotMedia when none of the types we publish.

    Images are only opened (Pillow reads the header), never decoded here; one with more
    pixels than ``Image.MAX_IMAGE_PIXELS`` is refused: resizing it could exhaust memory.
    """
    with path.open("rb") as handle:
        if handle.read(5) == b"%PDF-":
            return Sniffed(PDF)
    try:
        with Image.open(path) as image:
            mime = IMAGE_TYPES.get(image.format or "")
            if mime is None:
                raise NotMedia(f"a {image.format} image: publish {_TYPES}")
            width, height = image.size
            limit = Image.MAX_IMAGE_PIXELS
            if limit is not None and width * height > limit:
                raise NotMedia(_too_many_pixels(width, height))
            gps = bool(image.getexif().get_ifd(ExifTags.IFD.GPSInfo))
            return Sniffed(mime, width, height, gps)
    except Image.DecompressionBombError:
        raise NotMedia("too many pixels: it could exhaust memory when resized") from None
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError):
        # Pillow's plug-ins raise any of these on bytes they half recognise.
        raise NotMedia(f"unknown type: not one of {_TYPES}") from None


def _too_many_pixels(width: int, height: int) -> str:
    return f"{width} x {height} pixels is too many: it could exhaust memory when resized"


def media_stamp(folder: Path) -> list[tuple[str, bytes]]:
    """What changes when a file of ``folder/media`` does: names, sizes and times (media
    files are large; hashing them at every scan would stall it)."""
    stamps: list[tuple[str, bytes]] = []
    media = folder / FOLDER
    if media.is_dir():
        for path in media.iterdir():
            status = path.stat()
            stamps.append(
                (f"{FOLDER}/{path.name}", f"{status.st_size}:{status.st_mtime_ns}".encode())
            )
    return stamps


def load_media(
    folder: Path,
    entries: Sequence[MediaFields],
    *,
    languages: Sequence[str],
    meta_path: Path,
    meta_text: str,
    max_size: int = DEFAULT_MAX_MEDIA,
) -> tuple[tuple[Media, ...], list[Problem]]:
    """The valid entries (the hero first) and a problem for each thing wrong."""
    problems: list[Problem] = []
    found: list[Media] = []
    described: set[str] = set()
    for index, entry in enumerate(entries):
        problem = _Report(meta_path, meta_text, index)
        item = _entry(folder, entry, languages, described, max_size, problem, problems)
        if item is None:
            continue
        if item.hero and any(other.hero for other in found):
            problems.append(problem("a second hero: at most one image has hero = true", "hero"))
            continue
        found.append(item)
    problems.extend(_undescribed(folder, described))
    found.sort(key=lambda item: not item.hero)  # stable: the others keep their order
    return tuple(found), problems


def _entry(
    folder: Path,
    entry: MediaFields,
    languages: Sequence[str],
    described: set[str],
    max_size: int,
    problem: _Report,
    problems: list[Problem],
) -> Media | None:
    parts = PurePosixPath(entry.file).parts
    if len(parts) != 2 or parts[0] != FOLDER or parts[1] in {".", ".."} or "\\" in parts[1]:
        problems.append(
            problem(f"{entry.file!r}: name a file directly in media/, e.g. media/photo.jpg")
        )
        return None
    name = parts[1]
    if name in described:
        problems.append(problem(f"{entry.file!r} is described twice"))
        return None
    described.add(name)
    path = folder / FOLDER / name
    media_dir = (folder / FOLDER).resolve()
    if not path.is_file() or path.resolve().parent != media_dir:
        problems.append(problem(f"{entry.file}: missing (no such file in the media/ folder)"))
        return None
    size = path.stat().st_size
    if size > max_size:
        message = (
            f"{entry.file} is {format_size(size)}, over the limit of {format_size(max_size)} "
            "(content.max_media_size in config.toml)"
        )
        problems.append(problem(message))
        return None
    try:
        sniffed = sniff(path)
    except NotMedia as exc:
        problems.append(problem(f"{entry.file}: {exc}"))
        return None
    except OSError as exc:
        problems.append(problem(f"{entry.file}: cannot read it ({exc.strerror})"))
        return None
    alt, found = _by_language(entry.alt, "alt", problem)
    problems.extend(found)
    caption, found = _by_language(entry.caption, "caption", problem)
    problems.extend(found)
    is_image = sniffed.mime != PDF
    if is_image and (missing := [lang for lang in languages if not alt.get(lang)]):
        message = (
            f"{entry.file}: no alt text in {', '.join(missing)}: "
            "describe the image for readers who cannot see it"
        )
        problems.append(problem(message, "alt"))
        return None
    if entry.hero and not is_image:
        problems.append(problem(f"{entry.file}: the hero must be an image", "hero"))
        return None
    if not name.lower().endswith(_EXTENSIONS[sniffed.mime]):
        kind = sniffed.mime.split("/")[1].upper()
        problems.append(
            problem(f"{entry.file} is a {kind} file: its name says otherwise", warning=True)
        )
    if sniffed.gps:
        message = (
            f"{entry.file} says where it was taken (GPS): the web and email copies "
            "leave it out, the original download keeps it"
        )
        problems.append(problem(message, warning=True))
    with path.open("rb") as handle:
        digest = hashlib.file_digest(handle, "sha256").hexdigest()
    return Media(
        name=name,
        mime=sniffed.mime,
        size=size,
        sha256=digest,
        width=sniffed.width,
        height=sniffed.height,
        alt=alt,
        caption=caption,
        credit=entry.credit,
        license=entry.license,
        hero=entry.hero,
    )


def _by_language(
    texts: dict[str, str], key: str, problem: _Report
) -> tuple[dict[str, str], list[Problem]]:
    found: dict[str, str] = {}
    problems: list[Problem] = []
    for code, text in texts.items():
        try:
            found[normalize_language(code)] = text
        except UnknownLanguage as exc:
            problems.append(problem(f"{key}: {exc}", key, warning=True))
    return found, problems


def _undescribed(folder: Path, described: set[str]) -> list[Problem]:
    media = folder / FOLDER
    if not media.is_dir():
        return []
    return [
        Problem(
            path,
            None,
            FOLDER,
            "not described in release.toml, so not published: add a [[media]] entry "
            f'with file = "{FOLDER}/{path.name}", or remove the file',
            Severity.WARNING,
        )
        for path in sorted(media.iterdir())
        if path.name not in described and not path.name.startswith(".")
    ]
