"""Build the name and word lists the identification check reads (run by hand, once;
its output is committed):

- first_names.txt.gz, surnames.txt.gz: the US Census Bureau's 1990 frequency lists of
  first names (male and female) and surnames (public domain, as packaged on PyPI by
  `names` 0.3.0: dist.male.first, dist.female.first, dist.all.last), lower case, with
  apostrophes and spaces removed. first_names_uk.txt and surnames_uk.txt, written by
  the project, add names common in England and Wales that those lists lack.
- words.txt.gz: the lower-case words of Debian's `wbritish` word list (SCOWL, which may
  be used freely): a capitalised word that is also an ordinary word ("Will", "Grace",
  "Amber") is a name only where the context says so.

    python app/identify/data/make_lists.py <folder with the dist.* files> /usr/share/dict/british-english
"""

from __future__ import annotations

import gzip
import sys
from pathlib import Path

HERE = Path(__file__).parent


def _census(path: Path) -> list[str]:
    return [
        line.split()[0].lower().replace("'", "")
        for line in path.read_text().splitlines()
        if line.strip()
    ]


def _write(name: str, words: set[str]) -> None:
    data = "\n".join(sorted(words)).encode() + b"\n"
    with gzip.GzipFile(HERE / name, "wb", mtime=0) as out:  # the same bytes every build
        out.write(data)


def main(census: Path, dictionary: Path) -> None:
    first = set(_census(census / "dist.male.first")) | set(_census(census / "dist.female.first"))
    last = set(_census(census / "dist.all.last"))
    words = {
        w
        for w in dictionary.read_text(encoding="utf-8", errors="ignore").split()
        if w.islower() and "'" not in w
    }
    _write("first_names.txt.gz", first)
    _write("surnames.txt.gz", last)
    _write("words.txt.gz", words)
    print(f"{len(first)} first names, {len(last)} surnames, {len(words)} words")


if __name__ == "__main__":
    main(Path(sys.argv[1]), Path(sys.argv[2]))
