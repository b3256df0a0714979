"""The one record every reader yields, and the problems readers report instead of raising."""
from __future__ import annotations

import hashlib
import re
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from typing import Any

from newssearch.limits import MAX_BODY_CHARS, MAX_TITLE_CHARS, MAX_URL_CHARS

_SPACE = re.compile(r"\s+")
_UNSAFE_URL = re.compile(r'[\x00-\x20\x7f-\x9f\\<>"]')  # whitespace, controls and what breaks out of markup


def safe_url(url: str | None) -> str | None:
    """The URL if it is an absolute http(s) one a page may link to, else None: javascript:, data:, vbscript:
    or relative links, and URLs with spaces, controls, quotes or angle brackets, are never stored nor
    turned into links."""
    url = (url or "").strip()
    if not url or len(url) > MAX_URL_CHARS or _UNSAFE_URL.search(url):
        return None
    scheme, sep, rest = url.partition("://")
    if not sep or scheme.lower() not in ("http", "https") or not rest or rest[0] in "/?#":
        return None
    return url


def _cut(text: str, limit: int, mark: str = " …") -> str:
    if len(text) <= limit:
        return text
    cut = text.rfind(" ", limit // 2, limit)
    return text[: cut if cut > 0 else limit].rstrip() + mark


_UNUSUAL_SPACE = re.compile(r"\s(?:\s+|(?<! ))")  # every whitespace run but a single space


def _space_run(m: re.Match[str]) -> str:
    return "\n\n" if m.group().count("\n") >= 2 else " "


def normalise_space(text: str) -> str:
    """Collapse runs of whitespace inside lines, keep paragraph breaks (blank lines).

    One pass: a run of whitespace holding two line breaks is a paragraph break, any other run a space;
    single spaces (most of them) are not touched."""
    if "\r" in text:
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    return _UNUSUAL_SPACE.sub(_space_run, text).strip()


# Where text was decoded with the wrong charset (UTF-8 read as Windows-1252 or Latin-1: "Investorâ€™s",
# "cafÃ©"), a character that starts a UTF-8 sequence stands before one that continues it, or a C1 control
# character stands alone. Only text where this matches is handed to ftfy (this search of an article costs
# microseconds; ftfy's own check, milliseconds).
_MOJIBAKE_HINT = re.compile("[\x80-\x9f]|[\xc2-\xef][\xa0-\xbf\u0152\u0153\u0160\u0161\u0178\u017d\u017e"
                            "\u0192\u02c6\u02dc\u2013\u2014\u2018-\u201e\u2020-\u2022\u2026\u2030\u2039"
                            "\u203a\u20ac\u2122]")


def repair_mojibake(text: str) -> str:
    """Text decoded with the wrong charset, decoded as it was written ("Investor’s", "café"): ftfy's
    fix_encoding, which changes nothing else (quotes, widths and ligatures stay as written)."""
    if not _MOJIBAKE_HINT.search(text):
        return text
    import ftfy

    return ftfy.fix_encoding(text)


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
    # The calendar day of `date` as the page states it, in its own time zone ("2025-06-02"): a page's
    # 23:30 -05:00 is the next day in UTC. For display; `date` (the instant) is what filters use.
    local_date: str | None = None
    # A headline made up from the body's first sentence is shown, never indexed as a title: it would count
    # the lead a second (boosted) time and let short "titles" of common words win.
    title_from_body: bool = False

    def fingerprint(self) -> int:
        """A 63-bit hash of the content (not of where it came from): unchanged articles are skipped."""
        parts = (self.title, self.body, self.url or "", self.date.isoformat() if self.date else "",
                 "\x1f".join(self.categories), "\x1f".join(self.authors), self.site or "", "")
        data = "\x1e".join(parts).encode("utf-8", "surrogatepass")  # each part ends with \x1e, as ever
        return int.from_bytes(hashlib.blake2b(data, digest_size=8).digest(), "big") >> 1  # fits i64/u64 fields

    @classmethod
    def from_stored(cls, doc: dict[str, list]) -> "Article":
        """The article as the index stores it (a Tantivy document's to_dict()): every field it is indexed
        from, so that the indexer can write it again (indexer/build.py) and search can show it."""
        dates = doc.get("date") or []
        return cls(
            id=doc["id"][0], title=(doc.get("title") or doc.get("shown_title") or [""])[0],
            title_from_body=not doc.get("title"), body=(doc.get("body") or [""])[-1],
            url=(doc.get("url") or [None])[0], date=dates[0] if dates else None,
            categories=list(doc.get("categories") or []), authors=list(doc.get("author") or []),
            site=(doc.get("site") or [None])[0], source=(doc.get("source") or [""])[0],
        )

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["date"] = self.date.isoformat().replace("+00:00", "Z") if self.date else None
        return d


def indexed_title(a: Article) -> str:
    """The title as ranking (and the copies' sketches) sees it: none when it was made up from the body."""
    return "" if a.title_from_body else a.title


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
    # Cut to their bounds first: ftfy's time grows with the text's length.
    body = repair_mojibake(_cut(normalise_space(body or ""), MAX_BODY_CHARS))
    title = repair_mojibake(_cut(_SPACE.sub(" ", title or "").strip(), MAX_TITLE_CHARS, "…"))
    if not body:
        raise ValueError("no article text")
    title_from_body = not title
    if title_from_body:
        title = derive_title(body)
    url = safe_url(url)
    if date is not None:
        date = date.astimezone(timezone.utc) if date.tzinfo else date.replace(tzinfo=timezone.utc)
    cats = _unique(category_path(c) for c in (categories or []))
    auths = _unique(_SPACE.sub(" ", repair_mojibake(a)).strip() for a in (authors or []))
    article_id = " ".join((id or "").split()) or url or content_id(title, body)
    return Article(id=article_id, title=title, body=body, url=url, date=date, categories=cats,
                   authors=auths, site=repair_mojibake(site or "").strip() or None, source=source, title_from_body=title_from_body)


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
