"""The media-contact block at the end of a press release: its people, and the text without it.

A block opens with a localised phrase at the start of a line ("For more information, please
contact", "Contacts presse", "媒体联系人"…), in any of the newsroom's languages whatever the
page's (pages mix them), and runs to the end of the text or to the first line that plainly
ends it: an end marker ("###", "-ends-", "***"), a heading, an "About the agency" paragraph
or a long paragraph of prose. What follows the block stays in the body; end markers do not.
"""

# ruff: noqa: RUF001  (the phrases, labels and punctuation of six languages are meant)

from __future__ import annotations

import html
import re
import unicodedata
from dataclasses import dataclass, field

from pressdispatch.intake.contact_details import read_details
from pressdispatch.model import Contact

__all__ = ["extract_contacts"]


def _strip_marks(text: str) -> str:
    return "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))


# Each phrase: how it opens, and the "please contact" that may follow it after a few words
# ("For more information on this report, please contact"). Written lowercase; matched
# against text folded the same way (no accents, no case, straight apostrophes).
_INTROS: dict[str, tuple[tuple[str, str], ...]] = {
    "en": (
        (r"for\s+(?:more|further|additional)\s+information", r"(?:please\s+)?contact"),
        (r"(?:for\s+)?media\s+(?:contacts?|enquiries|inquiries)", r"(?:please\s+)?contact"),
        (r"press\s+(?:contacts?|enquiries|inquiries)", r"(?:please\s+)?contact"),
    ),
    "fr": (
        (
            r"pour\s+(?:plus|davantage)\s+d\s*'\s*informations?",
            r"(?:veuillez\s+|merci\s+de\s+)?(?:contacter|contactez|vous\s+adresser\s+a)",
        ),
        (r"pour\s+toute\s+information\s+(?:complementaire|supplementaire)", r"contactez"),
        (r"contacts?\s+(?:presse|medias?)", ""),
        (r"relations?\s+(?:presse|medias)", ""),
    ),
    "ru": (
        (
            r"для\s+получения\s+(?:дополнительной|более\s+подробной)\s+информации",
            r"(?:обращайтесь|просьба\s+обращаться|свяжитесь|обращаться)(?:\s+к)?",
        ),
        (r"контакты\s+для\s+(?:сми|прессы)", ""),
        (r"контактная\s+информация\s+для\s+сми", ""),
    ),
    "es": (
        (
            r"para\s+(?:mas|mayor)\s+informacion",
            r"(?:por\s+favor\s+)?(?:contacte|contactar|comuniquese)(?:\s+(?:a|con))?",
        ),
        (r"contactos?\s+(?:de\s+|con\s+(?:la\s+|los\s+)?)?(?:prensa|medios)", ""),
    ),
    "ar": (
        (r"لل?مزيد\s+من\s+المعلومات", r"(?:يرجى|الرجاء)\s+(?:الاتصال|التواصل)"),
        (r"للاستفسارات\s+الإعلامية", ""),
        (r"للتواصل\s+الإعلامي", ""),
    ),
    "zh": (
        (r"(?:欲|如需|如欲|若需)?了解更多(?:信息|详情)", r"(?:请|敬请)?\s*(?:联系|联络)"),
        (r"媒体(?:联系人?|垂询|联络)", ""),
        (r"新闻联系人", ""),
    ),
}
# A phrase standing alone is followed by punctuation or the end of the line, so that "For
# more information about the programme, see…" opens nothing.
_ALONE = r"(?=\s*(?:[,:;.!?()\-–—*_،。]|$))"


def _phrase(opening: str, contact: str) -> str:
    if not contact:
        return opening + _ALONE
    return rf"{opening}(?:(?:\s+[^\n,:;.،]{{1,80}}?)?\s*[,،]?\s*{contact}(?![a-zа-я])|{_ALONE})"


_DECORATION = r"[\s#>*_•·\-–—]*"
_INTRO = re.compile(
    _DECORATION
    + "(?:"
    + "|".join(
        f"(?P<{language}>{'|'.join(_strip_marks(_phrase(*p)) for p in phrases)})"
        for language, phrases in _INTROS.items()
    )
    + ")"
)
_CONJUNCTIONS = {"en": "or", "fr": "ou", "ru": "или", "es": "o|u", "ar": "أو"}
_END_MARKER = re.compile(
    r"\s*(?:#{3,}|(?:\*\s*){3,}|-{3,}|_{3,}|-+\s*(?:ends?|fin|конец)\s*-+|-30-|"
    r"[(\[]?(?:end|ends|fin|конец|انتهى|完)[)\]]?)\s*"
)
_STOP_HEADING = re.compile(
    _DECORATION
    + _strip_marks(
        r"(?:关于|(?:about|a\s+propos|acerca\s+de|sobre|о|об|نبذة\s+عن|حول|"
        r"notes?\s+(?:to|for)\s+(?:the\s+)?editors|editor\s*'?\s*s\s+notes?|"
        r"notes?\s+aux\s+redact\w*|nota\s+(?:para|a)\s+(?:los\s+)?editores|"
        r"примечани[ея]\s+для\s+редакц\w*)(?=\s|:|$))"
    )
)
_HEADING = re.compile(r"\s{0,3}#{1,6}\s")
# Past the people: a line without a number or an address that is this long, or a sentence.
_PROSE = 200
_SENTENCE = re.compile(r".{80,}[.!?。؟]\W*")
_WORDS = 15  # a name with a role and an office, at most
_APOSTROPHES = str.maketrans({"’": "'", "‘": "'", "ʼ": "'", "´": "'", "`": "'"})
_NAME_ROLE = re.compile(r"\s*[,，،]\s*|\s+[–—-]\s+")
_EDGES = " \t,;:：.|/·•–—-*_#>"


def extract_contacts(markdown: str, language: str) -> tuple[list[Contact], str]:
    """The media contacts in the release's text (Markdown, paragraphs separated by blank
    lines) and the text without the contact block. ([], markdown unchanged) if none."""
    lines = markdown.splitlines(keepends=True)
    starts = [0]
    for line in lines:
        starts.append(starts[-1] + len(line))
    # The block closes the release: the last intro that yields someone wins.
    for index in reversed(range(len(lines))):
        found = _intro(lines[index])
        if found is None:
            continue
        intro_language, rest = found
        block = _read_block(lines, index, rest, {intro_language, language})
        if block.contacts:
            return block.contacts, _body(markdown, starts[index], block, starts)
    return [], markdown


def _fold(text: str) -> tuple[str, list[int]]:
    """``text`` without accents, case or curly apostrophes, and where each character came from."""
    folded: list[str] = []
    origin: list[int] = []
    for index, char in enumerate(text):
        for part in unicodedata.normalize("NFKD", char):
            if unicodedata.combining(part):
                continue
            for lower in part.casefold().translate(_APOSTROPHES):
                folded.append(lower)
                origin.append(index)
    return "".join(folded), origin


def _intro(line: str) -> tuple[str, str] | None:
    """The language of the intro phrase opening ``line``, and what follows the phrase."""
    folded, origin = _fold(line)
    match = _INTRO.match(folded)
    if match is None or match.lastgroup is None:
        return None
    end = origin[match.end()] if match.end() < len(origin) else len(line)
    rest = line[end:].strip().lstrip("*_:：,.-–— \t").strip()
    # "…please contact the press office:" introduces the people below; it is not one of them.
    if rest.rstrip("*_ ").endswith((":", "：")):
        details = read_details(rest)
        if not details.phones and not details.emails:
            rest = ""
    return match.lastgroup, rest


@dataclass
class _Person:
    name: str = ""
    role: str = ""
    phones: list[str] = field(default_factory=list)
    emails: list[str] = field(default_factory=list)

    def reached(self) -> bool:
        return bool(self.phones or self.emails)

    def contact(self) -> Contact:
        # A person is kept only once reachable; an address alone still needs a name.
        name = self.name or (self.emails or self.phones)[0]
        # Office and mobile both help a journalist on deadline; more is noise.
        return Contact(name, self.role, ", ".join(self.phones[:2]), next(iter(self.emails), ""))


@dataclass
class _Block:
    contacts: list[Contact]
    end: int  # index of the first line after the block
    resume: int  # index of the first line kept after the block (past an end marker)


def _read_block(lines: list[str], index: int, rest: str, languages: set[str]) -> _Block:
    separators = _separators(languages)
    people: list[_Person] = []
    person = _Person()
    end = resume = len(lines)
    pieces: list[tuple[bool, str]] = [(True, html.unescape(rest))] if rest else []
    new_paragraph = True
    for number in range(index + 1, len(lines)):
        line = html.unescape(lines[number]).strip()
        if not line:
            new_paragraph = True
            continue
        if _END_MARKER.fullmatch(_fold(line)[0]):
            end, resume = number, number + 1
            break
        if _stops(line):
            end = resume = number
            break
        pieces.append((new_paragraph, line))
        new_paragraph = False
    for paragraph_start, line in pieces:
        for position, piece in enumerate(separators.split(line)):
            details = read_details(piece)
            if details.text:
                boundary = paragraph_start and position == 0
                if person.reached() or (boundary and person.name):
                    people.append(person)
                    person = _Person()
                _describe(person, details.text)
            person.phones.extend(p for p in details.phones if p not in person.phones)
            person.emails.extend(e for e in details.emails if e not in person.emails)
    people.append(person)
    return _Block([p.contact() for p in people if p.reached()], end, resume)


def _separators(languages: set[str]) -> re.Pattern[str]:
    words = "|".join(_CONJUNCTIONS[lang] for lang in sorted(languages & set(_CONJUNCTIONS)))
    conjunctions = rf"|\s+(?:{words})\s+" if words else ""
    chinese = r"|\s*或(?!者)\s*" if "zh" in languages else ""
    return re.compile(rf"\s+/\s+|\s*[;|]\s*{conjunctions}{chinese}", re.IGNORECASE)


def _stops(line: str) -> bool:
    """Whether ``line`` is past the contact block: a heading, boilerplate or prose."""
    if _STOP_HEADING.match(_fold(line)[0]):
        return True
    details = read_details(line)
    if len(details.text.split()) > _WORDS:
        return True
    reached = details.phones or details.emails
    return not reached and bool(
        _HEADING.match(line) or len(line) > _PROSE or _SENTENCE.fullmatch(line)
    )


def _describe(person: _Person, text: str) -> None:
    if not person.name:
        person.name, person.role = _split_name(text)
    elif not person.role:
        person.role = text
    else:
        person.role = f"{person.role}, {text}"


def _split_name(text: str) -> tuple[str, str]:
    """The name and the rest of "Name, Role, City", or of "Name (Office)"."""
    parts = _NAME_ROLE.split(text, maxsplit=1)
    name = parts[0].strip(_EDGES)
    role = parts[1].strip(_EDGES) if len(parts) > 1 else ""
    bracketed = re.fullmatch(r"(.+?)\s*\(([^()]+)\)", name)
    if bracketed:
        name = bracketed.group(1).strip(_EDGES)
        role = ", ".join(r for r in (bracketed.group(2).strip(), role) if r)
    return name, role


def _body(markdown: str, start: int, block: _Block, starts: list[int]) -> str:
    before = markdown[:start].rstrip()
    last = before.rpartition("\n")[2]
    if last and _END_MARKER.fullmatch(_fold(last.strip())[0]):
        before = before[: len(before) - len(last)].rstrip()
    after = markdown[starts[block.resume] :].strip("\n")
    body = "\n\n".join(part for part in (before, after) if part)
    return body + "\n" if body and markdown.endswith("\n") else body
