"""Messages rendered per second: 10,000 recipients of a 3-language release, one core.

Usage: python bench/render.py [--recipients N] [--config config.toml] [--release ID]

Uses the sample newsroom's release (or a given one) and synthetic recipients
spread over its languages and tiers, as the dispatch engine would: each variant
is rendered once, then every message is personalised and encoded to bytes.
Target (issue 2): at least 5,000 messages per second on one core.
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

from pressdispatch.config import load_settings
from pressdispatch.content.newsroom import load_newsroom
from pressdispatch.model import Tier, Variant
from pressdispatch.regions import load_regions
from pressdispatch.render.email import EmailRenderer, Recipient
from pressdispatch.tokens import Signer

ROOT = Path(__file__).resolve().parent.parent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--recipients", type=int, default=10_000)
    parser.add_argument("--config", type=Path, default=ROOT / "config.toml")
    parser.add_argument("--release", default="minsk-vaccination-campaign")
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()

    settings = load_settings(args.config)
    regions = load_regions()
    release = load_newsroom(settings, regions, subscribers=False).releases[args.release]
    languages = release.languages
    tiers = [Tier.PUBLIC, Tier.EMBARGOED] if release.embargo_send_at else [Tier.PUBLIC]
    recipients = [
        (
            Recipient(f"journalist{i}@example.org", f"Journalist Nº{i}"),
            Variant(languages[i % len(languages)], tiers[i % len(tiers)]),
        )
        for i in range(args.recipients)
    ]
    rates = []
    size = 0
    for _ in range(args.runs):
        renderer = EmailRenderer(
            settings.newsroom, settings.paths.templates, Signer(b"x" * 32), regions
        )
        start = time.perf_counter()
        size = 0
        for recipient, variant in recipients:
            size += len(renderer.render(release, variant, recipient))
        elapsed = time.perf_counter() - start
        rates.append(args.recipients / elapsed)
    print(
        f"release {release.id}: {len(languages)} languages, {len(tiers)} tiers, "
        f"{args.recipients} recipients, mean message {size / args.recipients / 1024:.1f} KiB"
    )
    print(
        f"rendered: median {statistics.median(rates):,.0f} messages/s "
        f"(min {min(rates):,.0f}, max {max(rates):,.0f}) over {args.runs} runs, "
        "variant rendering included"
    )


if __name__ == "__main__":
    main()
