"""The whole newsroom as the files describe it: releases, journalists, and what is wrong."""

from __future__ import annotations

from dataclasses import dataclass, field

from pressdispatch.config import Settings
from pressdispatch.content.releases import ReleaseCache, load_releases
from pressdispatch.content.subscribers import load_subscribers
from pressdispatch.errors import NotFound, Problem
from pressdispatch.model import Release, Subscriber
from pressdispatch.regions import RegionTree


@dataclass(frozen=True, slots=True)
class Newsroom:
    releases: dict[str, Release]
    subscribers: list[Subscriber]
    release_problems: list[Problem] = field(default_factory=list)
    subscriber_problems: list[Problem] = field(default_factory=list)

    @property
    def problems(self) -> list[Problem]:
        return [*self.release_problems, *self.subscriber_problems]

    def release(self, release_id: str) -> Release:
        try:
            return self.releases[release_id]
        except KeyError:
            folder_problems = [p for p in self.release_problems if release_id in p.path.parts]
            if folder_problems:
                details = "\n".join(f"  {p}" for p in folder_problems)
                raise NotFound(f"release {release_id!r} cannot be loaded:\n{details}") from None
            known = ", ".join(sorted(self.releases)) or "none"
            raise NotFound(f"no release {release_id!r} (known: {known})") from None


def load_newsroom(
    settings: Settings,
    regions: RegionTree,
    *,
    subscribers: bool = True,
    cache: ReleaseCache | None = None,
) -> Newsroom:
    releases, release_problems = load_releases(
        settings.paths.releases,
        regions=regions,
        languages=settings.newsroom.languages,
        default_language=settings.newsroom.default_language,
        max_body_size=settings.content.max_body_size,
        max_media_size=settings.content.max_media_size,
        cache=cache,
    )
    people: list[Subscriber] = []
    people_problems: list[Problem] = []
    if subscribers:
        people, people_problems = load_subscribers(settings.paths.subscribers, regions)
    return Newsroom({r.id: r for r in releases}, people, release_problems, people_problems)
