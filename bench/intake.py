"""Pages imported per second, and peak memory: `pressdispatch import` of 200 pages in one run.

Usage: python bench/intake.py [--pages N] [--translations]

Serves N generated press-release pages (site chrome, a dateline, five paragraphs,
a contact block, hreflang links to an English version when --translations) from a
local web server, then runs `pressdispatch import URL1 ... URLN` once, as a child
process in a fresh newsroom, and reports its wall time, pages per second and its
peak resident memory (from the kernel's accounting of the finished child).
Target (issue 13): report the figures; nothing is set.
"""

from __future__ import annotations

import argparse
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.website import cms_page, website  # noqa: E402

COUNTRIES = ["Haïti", "Niger", "Bélarus", "Ukraine", "Mali", "Tchad", "Soudan", "Yémen"]


def page(n: int, base: str, translations: bool) -> str:
    country = COUNTRIES[n % len(COUNTRIES)]
    paragraphs = [
        f"L'agence a livré cette semaine une aide d'urgence à {1000 + n} familles au "
        f"{country}, où la situation humanitaire reste très préoccupante selon les équipes.",
        *(
            f"Paragraphe {k} : les équipes de terrain poursuivent leur travail avec les "
            "autorités locales et les partenaires pour atteindre les communautés isolées."
            for k in range(2, 6)
        ),
    ]
    contact = (
        "<p>Pour plus d'informations, veuillez contacter :</p>"
        f"<p>Marie Dupont {n}, Service de presse<br>Tél. : +41 22 917 12 34<br>"
        f'Courriel : <a href="mailto:presse{n}@example.org">presse{n}@example.org</a></p>'
    )
    alternates = {"fr": f"{base}/fr/news/{n}", "en": f"{base}/en/news/{n}"} if translations else {}
    return cms_page(
        lang="fr",
        title=f"Aide d'urgence numéro {n} au {country}",
        paragraphs=paragraphs,
        dateline="GENÈVE",
        alternates=alternates,
        contact_html=contact,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages", type=int, default=200)
    parser.add_argument("--translations", action="store_true")
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="pressdispatch-bench-intake-"))
    try:
        for name in ("config.toml", "templates"):
            source = ROOT / name
            if source.is_dir():
                shutil.copytree(source, folder / name)
            else:
                shutil.copyfile(source, folder / name)
        (folder / "releases").mkdir()
        (folder / "subscribers").mkdir()
        with website() as site:
            urls = []
            for n in range(args.pages):
                urls.append(site.page(f"/fr/news/{n}", page(n, site.base, args.translations)))
                if args.translations:
                    english = page(n, site.base, True).replace('lang="fr"', 'lang="en"')
                    site.page(f"/en/news/{n}", english)
            command = [
                sys.executable,
                "-m",
                "pressdispatch",
                "--config",
                str(folder / "config.toml"),
                "import",
                *urls,
            ]
            start = time.perf_counter()
            done = subprocess.run(command, capture_output=True, text=True, check=False)
            elapsed = time.perf_counter() - start
        imported = len([p for p in (folder / "releases").iterdir() if not p.name.startswith(".")])
        peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024  # KiB on Linux
        if done.returncode != 0:
            print(done.stderr[-2000:], file=sys.stderr)
        print(f"pages:        {args.pages} ({'with' if args.translations else 'no'} translations)")
        print(f"imported:     {imported} release folders (exit status {done.returncode})")
        print(f"wall time:    {elapsed:.2f} s (start-up included)")
        print(f"pages/s:      {args.pages / elapsed:.1f}")
        print(f"peak memory:  {peak:.0f} MiB (resident, the import process)")
    finally:
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
