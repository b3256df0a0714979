"""The one record every reader yields, and the problems readers report instead of raising."""
from __future__ import annotations

import hashlib
import re
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from typing import Any

_SPACE = re.compile(r"\s+")


def normalise_space(text: str) -> str:
    """Collapse runs of whitespace inside lines, keep paragraph breaks (blank lines)."""
    paragraphs = re.split(r"\n\s*\n", text.replace("\r\n", "\n").replace("\r", "\n"))
    cleaned = (_SPACE.sub(" ", p).strip() for p in paragraphs)
    return "\n\n".join(p for p in cleaned if p)


def category_path(value: str) -> str:
    """'World > Europe', '/World/Europe/' and 'World/Europe' all become 'World/Europe'."""
    parts = re.split(r"\s*(?:/|>|»)\s*", value.strip())
    return "/".join(p.strip() for p in parts if p.strip())


@dataclass
class Article:
    """A news article, normalised: what gets indexed and what a search returns."""

    id: str
    title: str
    body: str
    url: str | None = None
    date: datetime | None = None  # always tz-aware UTC
    categories: list[str] = field(default_factory=list)  # paths like "World/Europe"
    authors: list[str] = field(default_factory=list)
    site: str | None = None
    source: str = ""  # where it came from: "file" or "file:line"
    # A headline made up from the body's first sentence is shown, never indexed as a title: it would count
    # the lead a second (boosted) time and let short "titles" of common words win.
    title_from_body: bool = False

    def fingerprint(self) -> int:
        """A 63-bit hash of the content (not of where it came from): unchanged articles are skipped."""
        h = hashlib.blake2b(digest_size=8)
        for part in (self.title, self.body, self.url or "", self.date.isoformat() if self.date else "",
                     "\x1f".join(self.categories), "\x1f".join(self.authors), self.site or ""):
            h.update(part.encode("utf-8", "surrogatepass"))
            h.update(b"\x1e")
        return int.from_bytes(h.digest(), "big") >> 1  # fits tantivy's i64/u64 fast fields

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["date"] = self.date.isoformat().replace("+00:00", "Z") if self.date else None
        return d


def content_id(title: str, body: str) -> str:
    """Stable id for an article without url or id: a hash of its normalised text."""
    text = _SPACE.sub(" ", f"{title}\n{body}").strip().casefold()
    return "sha1:" + hashlib.sha1(text.encode("utf-8", "surrogatepass")).hexdigest()[:20]


def make_article(*, title: str | None, body: str | None, source: str, id: str | None = None,
                 url: str | None = None, date: datetime | None = None,
                 categories: list[str] | None = None, authors: list[str] | None = None,
                 site: str | None = None) -> Article:
    """Build an Article from raw fields, tidying whitespace and choosing the stable id.

    The id is the source's own id, else the url, else a hash of the content. A missing title is
    taken from the start of the body (exports such as the BBC set run the headline into the text).
    Raises ValueError when there is no body text at all.
    """
    body = normalise_space(body or "")
    title = _SPACE.sub(" ", title or "").strip()
    if not body:
        raise ValueError("no article text")
    title_from_body = not title
    if title_from_body:
        title = derive_title(body)
    url = (url or "").strip() or None
    if date is not None:
        date = date.astimezone(timezone.utc) if date.tzinfo else date.replace(tzinfo=timezone.utc)
    cats = _unique(category_path(c) for c in (categories or []))
    auths = _unique(_SPACE.sub(" ", a).strip() for a in (authors or []))
    article_id = " ".join((id or "").split()) or url or content_id(title, body)
    return Article(id=article_id, title=title, body=body, url=url, date=date, categories=cats,
                   authors=auths, site=(site or "").strip() or None, source=source, title_from_body=title_from_body)


def derive_title(body: str, max_words: int = 12) -> str:
    first = re.split(r"(?<=[.!?])\s", body, maxsplit=1)[0]
    words = first.split()
    return " ".join(words[:max_words]) + ("…" if len(words) > max_words else "")


def _unique(values) -> list[str]:
    seen: dict[str, None] = {}
    for v in values:
        if v and v not in seen:
            seen[v] = None
    return list(seen)


@dataclass
class Problem:
    """Something a reader could not use: reported with where it is, never raised."""

    source: str  # "file" or "file:line"
    message: str

    def __str__(self) -> str:
        return f"{self.source}: {self.message}"


@dataclass
class Notice:
    """Something worth telling about input that was read, not a failure: items a feed gives only as a
    summary, drafts and revisions a WordPress export holds. Reported, never counted as failed."""

    source: str
    message: str

    def __str__(self) -> str:
        return f"{self.source}: {self.message}"
