"""A journalist's choices on a form: languages in order, regions and topics.

The subscription form (``signup.py``) and the preferences page (``subscriptions.py``)
read, check and offer them the same way: this module (what is offered: ``picker.py``).

Languages come as ``languages`` fields, in order of preference, and may each have a
``position-<code>`` field (``1`` first): the order is the positions', then the fields'
for the languages without one. A form or script that sends only ``languages`` fields,
in order, is read as before.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, field
from email.parser import BytesParser
from email.policy import HTTP
from typing import Any
from urllib.parse import parse_qsl

from fastapi import Request

from pressdispatch.characters import printable
from pressdispatch.errors import UnknownRegion
from pressdispatch.model import TopicNames
from pressdispatch.regions import ROOT, RegionTree
from pressdispatch.render import i18n
from pressdispatch.vocabulary import normalize_topic
from pressdispatch.web.deps import WebState
from pressdispatch.web.picker import language_rows, region_groups

MAX_BODY = 64 * 1024  # bytes of a form; the real ones are a few hundred
#: The error of a form over MAX_BODY (status 413), to translate.
TOO_LARGE = (
    "The form is too large, so nothing was done. Please shorten what you entered and try again."
)
_SHOWN_VALUE = 60  # characters of a rejected value repeated in an error message
POSITION = "position-"  # + a language code: where it comes in the order
_POSITION = re.compile(r"[0-9]{1,2}")


@dataclass
class Choices:
    languages: list[str] = field(default_factory=list)  # in order of preference
    regions: list[str] = field(default_factory=list)  # sorted; empty: every region
    topics: list[str] = field(default_factory=list)  # sorted; empty: every topic
    errors: list[str] = field(default_factory=list)  # localised, for the form


async def read_form(request: Request) -> list[tuple[str, str]] | None:
    """A urlencoded or multipart/form-data body's fields, in order; None if far too large."""
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_BODY:
            return None
    content_type = request.headers.get("content-type", "")
    if content_type.split(";", 1)[0].strip().lower() != "multipart/form-data":
        return parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True)
    head = f"Content-Type: {content_type}\r\n\r\n".encode("latin-1", "replace")
    message = BytesParser(policy=HTTP).parsebytes(head + bytes(body))
    fields: list[tuple[str, str]] = []
    for part in message.walk():
        name = part.get_param("name", header="content-disposition")
        payload = part.get_payload(decode=True)
        if part is not message and isinstance(name, str) and isinstance(payload, bytes):
            fields.append((name, payload.decode("utf-8", "replace")))
    return fields


async def public_topics(state: WebState) -> list[str]:
    """The topics of the releases the public may see now (never an embargoed one's)."""
    snapshot = await state.public.current()
    return sorted({topic for release in snapshot.releases for topic in release.topics})


def parse_choices(
    fields: Sequence[tuple[str, str]],
    *,
    offered: Collection[str],
    tree: RegionTree,
    topics: Collection[str] | None,
    lang: str,
) -> Choices:
    """The ``languages``, ``regions`` and ``topics`` fields, checked.

    ``topics`` is what may be chosen; None accepts any well-formed topic.
    """
    chosen = Choices()
    regions: set[str] = set()
    picked: set[str] = set()
    positions: dict[str, str] = {}

    def reject(message: str, value: str) -> None:
        shown = printable(value.strip()[:_SHOWN_VALUE])  # never a control character on the page
        chosen.errors.append(i18n.gettext(lang, message, value=shown))

    for name, value in fields:
        if not value.strip():
            continue
        if name.startswith(POSITION):
            positions[name.removeprefix(POSITION).lower()] = value.strip()
        elif name == "languages":
            code = value.strip().lower()
            if code not in offered:
                reject("Unknown language: %(value)s", value)
            elif code not in chosen.languages:
                chosen.languages.append(code)
        elif name == "regions":
            try:
                regions.add(tree.resolve(value))
            except UnknownRegion:
                reject("Unknown region: %(value)s", value)
        elif name == "topics":
            try:
                topic = normalize_topic(value)
            except ValueError:
                topic = None
            if not topic or (topics is not None and topic not in topics):
                reject("Unknown topic: %(value)s", value)
            else:
                picked.add(topic)
    chosen.languages = _in_order(chosen.languages, positions, reject)
    chosen.regions = [] if ROOT in regions else sorted(regions)  # the world is every region
    chosen.topics = sorted(picked)
    return chosen


def _in_order(
    codes: list[str], positions: dict[str, str], reject: Callable[[str, str], None]
) -> list[str]:
    """``codes`` by their position; those without one after, as they came.

    A position given to a language that is not ticked is ignored: the box decides.
    """

    def position(code: str) -> float:
        text = positions.get(code, "")
        if _POSITION.fullmatch(text) and int(text) > 0:
            return int(text)
        if text:
            reject("Position: a number from 1, not %(value)s", text)
        return math.inf

    keyed = sorted((position(code), index, code) for index, code in enumerate(codes))
    return [code for _, _, code in keyed]


def choice_options(
    tree: RegionTree,
    lang: str,
    *,
    languages: Sequence[str],
    topics: Sequence[str],
    topic_names: TopicNames,
    chosen_languages: Sequence[str],
    chosen_regions: Collection[str],
    chosen_topics: Collection[str],
) -> dict[str, Any]:
    """What the form templates show: languages to number, regions grouped, topics.

    Topics are offered by name in ``lang``, in that order; the form sends their slugs.
    """
    return {
        "language_rows": language_rows(languages, chosen_languages),
        "region_groups": region_groups(tree, lang, chosen_regions),
        "topic_options": [
            {"slug": slug, "name": name, "checked": slug in chosen_topics}
            for slug, name in topic_names.named(topics, lang)
        ],
    }
