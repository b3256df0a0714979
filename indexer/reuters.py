"""Reuters-21578 SGML (reut2-*.sgm): a real newswire archive format, read record by record.

The files are not XML (control-character entities, bare '&lt;'), and one of them is not UTF-8, so
they are decoded as latin-1 and taken apart with regular expressions.
"""
from __future__ import annotations

import html
import re
from collections.abc import Iterator
from datetime import datetime, timezone

from .article import Article, Problem, make_article

_RECORD = re.compile(r"<REUTERS\b([^>]*)>(.*?)</REUTERS>", re.S)
_ATTR = re.compile(r'(\w+)="([^"]*)"')
_CONTROL = re.compile(r"&#\d+;|[\x00-\x08\x0b-\x1f]")


def _tag(record: str, name: str) -> str | None:
    m = re.search(rf"<{name}>(.*?)</{name}>", record, re.S)
    return m.group(1) if m else None


def _clean(text: str) -> str:
    return html.unescape(_CONTROL.sub("", text))


def _body(raw: str) -> str:
    text = _clean(raw)
    text = re.sub(r"\s*\bReuter\s*$", "", text.rstrip())
    # Paragraphs start with an indented line; other line breaks are the wire's 70-column wrapping.
    paragraphs = re.split(r"\n(?=[ \t]{2,}\S)", text)
    return "\n\n".join(" ".join(p.split()) for p in paragraphs if p.strip())


def _date(raw: str) -> datetime:
    text = _clean(raw).strip()
    m = re.match(r"(\d{1,2})-([A-Za-z]{3})-(\d{4})(?:\s+(\d{1,3}):(\d{2}):(\d{2}))?", text)
    if not m:
        raise ValueError(f"unreadable date {text!r}")
    day, mon, year, hh, mm, ss = m.groups()
    day_start = datetime.strptime(f"{day} {mon.title()} {year}", "%d %b %Y").replace(tzinfo=timezone.utc)
    try:
        return day_start.replace(hour=int(hh), minute=int(mm), second=int(ss)) if hh else day_start
    except ValueError:  # the wire has a few impossible times ("605:12:19"): keep the day
        return day_start


def read_sgml(data: bytes, source: str) -> Iterator[Article | Problem]:
    text = data.decode("latin-1")
    for m in _RECORD.finditer(text):
        attrs = dict(_ATTR.findall(m.group(1)))
        record = m.group(2)
        where = f"{source}:{text.count(chr(10), 0, m.start()) + 1}"
        body = _tag(record, "BODY")
        if not body or not body.strip():
            continue  # TYPE="BRIEF" items are a headline only: nothing to index
        try:
            date_raw = _tag(record, "DATE")
            topics = re.findall(r"<D>(.*?)</D>", _tag(record, "TOPICS") or "")
            author = _tag(record, "AUTHOR")
            authors = []
            if author:
                name = re.sub(r"^\s*by\s+", "", _clean(author).strip(), flags=re.I)
                authors = [re.sub(r",\s*Reuters?$", "", name).strip()]
            yield make_article(
                id=f"reuters-21578:{attrs.get('NEWID', '')}" if attrs.get("NEWID") else None,
                title=_clean(_tag(record, "TITLE") or ""), body=_body(body),
                date=_date(date_raw) if date_raw else None, categories=topics, authors=authors,
                site="Reuters", source=where,
            )
        except ValueError as exc:
            yield Problem(where, str(exc))
