"""Syndicated copies of real articles, made the way syndication makes them: another site's boilerplate
around the text (real lines of a WordPress news site's page, the seed page's), an edited headline, the
last paragraphs or sentences cut. Used by bench/dedup.py and tests/test_copies.py."""
from __future__ import annotations

import random
import re
from pathlib import Path

SEED_PAGE = Path(__file__).resolve().parent.parent / "corpus" / "pages" / "dumps" / "blms-peace-talks.txt"
DATELINES = ["(Reuters) -", "(AP) —", "— Wire report:", "NEW YORK, (Reuters) -", "By Staff Writers |"]
HEADLINE_EDITS = ["UPDATE 1-{}", "{} - report", "{} | World News", "Breaking: {}", "{}, officials say"]


def boilerplate_lines(path: Path = SEED_PAGE) -> list[str]:
    """Lines of real site furniture: the seed page's menus, newsletter boxes and footer (short lines)."""
    lines = [ln.strip(" •*·\t") for ln in path.read_text(encoding="utf-8").splitlines()]
    return sorted({ln for ln in lines if 4 <= len(ln.split()) <= 16})


def edit_headline(title: str, rng: random.Random) -> str:
    words = title.split()
    kind = rng.randrange(3)
    if kind == 0 and words:  # Reuters' capitals in sentence case, as other sites set them
        title = title.capitalize()
    elif kind == 1 and len(words) > 4:  # a word dropped
        del words[rng.randrange(1, len(words))]
        title = " ".join(words)
    return rng.choice(HEADLINE_EDITS).format(title)


def trim(body: str, rng: random.Random) -> str:
    """The last one or two paragraphs cut (at most a third of the text), else the last sentence."""
    paras = body.split("\n\n")
    if len(paras) >= 4:
        keep = len(paras) - rng.randint(1, max(1, min(2, len(paras) // 3)))
        return "\n\n".join(paras[:keep])
    sentences = re.split(r"(?<=[.!?])\s+", body)
    if len(sentences) >= 4:
        return " ".join(sentences[: len(sentences) - 1])
    return body


def syndicate(title: str, body: str, rng: random.Random, furniture: list[str]) -> tuple[str, str]:
    """One syndicated copy: (headline, text)."""
    head = [rng.choice(DATELINES)] if rng.random() < 0.5 else []
    tail = rng.sample(furniture, k=rng.randint(1, 3))
    text = trim(body, rng) if rng.random() < 0.8 else body
    return edit_headline(title, rng), "\n\n".join([" ".join(head + [text.split("\n\n")[0]])]
                                                   + text.split("\n\n")[1:] + tail)
