"""Copies of a release's images for pages and emails, and the zip of its originals,
kept in a folder of the data directory (never in releases/), named by content hash.

A copy is made on its first request: resized with Pillow (never enlarged), turned
upright, as JPEG or WebP, and without what a camera records about where it was: no GPS
and no XMP; of the EXIF only the artist, copyright and description are kept. Two
requests at once may both make it; each writes a file of its own and renames it into
place, so a reader never sees half a file.

Everything here blocks (Pillow, hashing, writing): callers run it in a thread.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
import threading
import zipfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import IO

from PIL import ExifTags, Image, ImageOps

__all__ = ["MediaFiles"]

_SAVE: dict[str, tuple[str, dict[str, object]]] = {
    "jpg": ("JPEG", {"quality": 85, "optimize": True, "progressive": True}),
    "webp": ("WEBP", {"quality": 82, "method": 4}),
}
# What a copy keeps of the EXIF: who made the picture and what it shows, nothing more.
_KEPT_EXIF = (ExifTags.Base.Artist, ExifTags.Base.Copyright, ExifTags.Base.ImageDescription)
_VERSION = "1"  # of the way copies are made: a change makes new ones


class MediaFiles:
    """The cache folder, and the content hashes of the files served from it."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self._digests: dict[tuple[str, int, int], str] = {}
        self._lock = threading.Lock()

    def digest(self, path: Path) -> str:
        """SHA-256 of ``path``'s bytes, hashed again only when its size or time changes."""
        status = path.stat()
        key = (str(path), status.st_size, status.st_mtime_ns)
        with self._lock:
            found = self._digests.get(key)
        if found is None:
            with path.open("rb") as handle:
                found = hashlib.file_digest(handle, "sha256").hexdigest()
            with self._lock:
                self._digests[key] = found
        return found

    def derivative(self, source: Path, width: int, ext: str) -> Path:
        """The copy of ``source`` at most ``width`` pixels wide, as ``ext`` (jpg or webp)."""
        target = self.folder / "images" / f"{self.digest(source)}-{width}-v{_VERSION}.{ext}"
        if not target.exists():
            with Image.open(source) as image:
                copy = _resized(image, width)
            _write(target, lambda handle: _save(copy, handle, ext))
        return target

    def bundle(self, files: Sequence[tuple[str, Path]], credits: str) -> Path:
        """A zip of ``files`` (name in the zip, path) and CREDITS.txt."""
        key = hashlib.sha256(credits.encode())
        for name, path in files:
            key.update(f"\0{name}\0{self.digest(path)}".encode())
        target = self.folder / "zips" / f"{key.hexdigest()}.zip"
        if not target.exists():

            def write(handle: IO[bytes]) -> None:
                # Images and PDFs are compressed already: stored, the zip is made at disk speed.
                with zipfile.ZipFile(handle, "w", zipfile.ZIP_STORED) as archive:
                    for name, path in files:
                        archive.write(path, name)
                    archive.writestr("CREDITS.txt", credits, zipfile.ZIP_DEFLATED)

            _write(target, write)
        return target


def _resized(image: Image.Image, width: int) -> Image.Image:
    # A JPEG decodes at 1/2, 1/4 or 1/8 of its size for much less work, never below the box.
    image.draft("RGB", (width, width))
    upright = ImageOps.exif_transpose(image)
    exif = Image.Exif()
    for tag in _KEPT_EXIF:
        if (value := image.getexif().get(tag)) is not None:
            exif[tag] = value
    if upright.width > width:
        height = max(1, round(upright.height * width / upright.width))
        upright = upright.resize((width, height), Image.Resampling.LANCZOS)
    else:
        upright = upright.copy()
    icc = image.info.get("icc_profile")
    upright.info = {"exif": exif.tobytes()} if len(exif) else {}
    if icc:
        upright.info["icc_profile"] = icc
    return upright


def _save(image: Image.Image, handle: IO[bytes], ext: str) -> None:
    kind, options = _SAVE[ext]
    alpha = image.mode in ("RGBA", "LA") or (image.mode == "P" and "transparency" in image.info)
    if kind == "JPEG" and alpha:
        flat = Image.new("RGB", image.size, (255, 255, 255))
        flat.paste(image.convert("RGBA"), mask=image.convert("RGBA").getchannel("A"))
        out = flat
    elif kind == "JPEG" or not alpha:
        out = image.convert("RGB")
    else:
        out = image.convert("RGBA")
    extra = {key: value for key, value in image.info.items() if key in ("exif", "icc_profile")}
    out.save(handle, kind, **options, **extra)


def _write(target: Path, write: Callable[[IO[bytes]], None]) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile(dir=target.parent, prefix=".", delete=False) as handle:
        try:
            write(handle)
        except BaseException:
            handle.close()
            os.unlink(handle.name)
            raise
    os.replace(handle.name, target)
