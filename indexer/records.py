"""CMS exports — JSON Lines, JSON arrays, CSV — to Articles, mapping the field names exports commonly use."""
from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Iterator, Mapping
from typing import Any

from .article import Article, Problem, make_article
from .dates import parse_date
from .formats import decode_text, extension

# Our field -> the names exports use for it, in order of preference (compared case- and punctuation-blind).
FIELD_NAMES: dict[str, tuple[str, ...]] = {
    "id": ("id", "guid", "uuid", "_id", "article_id", "newid", "doc_id"),
    "url": ("url", "link", "permalink", "canonical_url", "href", "uri"),
    "title": ("title", "headline", "heading", "name", "subject"),
    "body": ("body", "text", "content", "article", "article_body", "articlebody", "story", "full_text",
             "description", "summary"),
    "date": ("date", "published", "pubdate", "published_at", "publishedat", "date_published",
             "datepublished", "publish_date", "publication_date", "pub_date", "created_at", "created",
             "timestamp", "time", "datetime"),
    "categories": ("category", "categories", "section", "sections", "topics", "topic", "tags", "keywords"),
    "authors": ("author", "authors", "byline", "creator", "writer", "by"),
    "site": ("site", "site_name", "sitename", "publisher", "source_name", "outlet", "source", "domain"),
}
_LIST_SPLIT = re.compile(r"\s*[;|,]\s*")
_AUTHOR_SPLIT = re.compile(r"\s*(?:;|\||,\s*and\s+|\s+and\s+|,|&)\s*")


def _key(name: str) -> str:
    return re.sub(r"[^a-z0-9]", "", name.lower())


_LOOKUP = {field: tuple(_key(n) for n in names) for field, names in FIELD_NAMES.items()}


def map_fields(record: Mapping[str, Any]) -> dict[str, Any]:
    """Pick our fields out of a record whatever the export called them."""
    by_key: dict[str, Any] = {}
    for k, v in record.items():
        if isinstance(k, str):
            by_key.setdefault(_key(k), v)
    out: dict[str, Any] = {}
    for field, keys in _LOOKUP.items():
        for k in keys:
            v = by_key.get(k)
            if v not in (None, "", [], {}):
                out[field] = v
                break
    return out


def _text(value: Any, field: str) -> str | None:
    if value is None:
        return None
    if isinstance(value, (str, int, float)) and not isinstance(value, bool):
        return str(value)
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return "\n\n".join(value)  # body given as a list of paragraphs
    if isinstance(value, Mapping):  # {"name": ...}, {"rendered": ...} (WordPress), {"value": ...}
        for k in ("rendered", "value", "name", "text", "href", "url"):
            if isinstance(value.get(k), str):
                return value[k]
    raise ValueError(f"field {field!r} should be text, got {type(value).__name__}")


def _names(value: Any, field: str, split: re.Pattern[str]) -> list[str]:
    if value is None:
        return []
    items = value if isinstance(value, list) else [value]
    out: list[str] = []
    for item in items:
        text = _text(item, field)
        if text is None:
            continue
        out.extend(p for p in (split.split(text) if not isinstance(value, list) else [text]) if p.strip())
    return out


def record_to_article(record: Any, source: str) -> Article:
    """One export record -> Article. Raises ValueError with a message fit for the user."""
    if not isinstance(record, Mapping):
        raise ValueError(f"expected an object, got {type(record).__name__}")
    f = map_fields(record)
    body = _text(f.get("body"), "body")
    if not body or not body.strip():
        raise ValueError("no article text (looked for " + ", ".join(FIELD_NAMES["body"][:5]) + ")")
    if "<" in body and re.search(r"</?(p|div|br|span|a)\b", body, re.I):
        body = _html_fragment_text(body)
    return make_article(
        id=_text(f.get("id"), "id"), url=_text(f.get("url"), "url"), title=_text(f.get("title"), "title"),
        body=body, date=parse_date(f.get("date")),
        categories=_names(f.get("categories"), "category", _LIST_SPLIT),
        authors=_names(f.get("authors"), "author", _AUTHOR_SPLIT),
        site=_text(f.get("site"), "site"), source=source,
    )


def _html_fragment_text(fragment: str) -> str:
    """CMS bodies are often HTML fragments: keep their text, one paragraph per block."""
    import lxml.html

    root = lxml.html.fragment_fromstring(fragment, create_parent="div")
    for bad in root.xpath("//script|//style"):
        bad.drop_tree()
    blocks = [" ".join(el.text_content().split()) for el in root.xpath("//p|//li|//h2|//h3|//blockquote")]
    blocks = [b for b in blocks if b]
    return "\n\n".join(blocks) if blocks else root.text_content()


def _convert(record: Any, source: str) -> Article | Problem:
    try:
        return record_to_article(record, source)
    except ValueError as exc:
        return Problem(source, str(exc))


def read_jsonl(data: bytes, source: str, first_line: int = 1) -> Iterator[Article | Problem]:
    # Split on b"\n" only: bytes.splitlines() would also split on \r, \x0b, \x0c, \x1c-\x1e and so shift
    # the line numbers of every later problem.
    for lineno, raw in enumerate(data.split(b"\n"), start=first_line):
        where = f"{source}:{lineno}"
        if not raw.strip():
            continue
        try:
            record = json.loads(decode_text(raw))
        except ValueError as exc:
            yield Problem(where, f"malformed JSON line ({exc})")
            continue
        yield _convert(record, where)


def read_json(data: bytes, source: str) -> Iterator[Article | Problem]:
    try:
        text = decode_text(data)
    except ValueError as exc:
        yield Problem(source, str(exc))
        return
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        if exc.msg.startswith("Extra data"):  # JSON Lines saved as .json
            yield from read_jsonl(data, source)
        else:
            yield Problem(f"{source}:{exc.lineno}", f"malformed JSON ({exc.msg}, column {exc.colno})")
        return
    if isinstance(doc, Mapping):  # {"articles": [...]} / {"items": [...]} / a single article
        lists = [v for v in doc.values() if isinstance(v, list) and v and isinstance(v[0], Mapping)]
        items = lists[0] if lists and "body" not in map_fields(doc) else [doc]
    elif isinstance(doc, list):
        items = doc
    else:
        yield Problem(source, f"expected a JSON array or object, got {type(doc).__name__}")
        return
    for i, record in enumerate(items):
        yield _convert(record, f"{source}[{i}]")


def read_csv(data: bytes, source: str) -> Iterator[Article | Problem]:
    try:
        text = decode_text(data)
    except ValueError as exc:
        yield Problem(source, str(exc))
        return
    csv.field_size_limit(1 << 27)
    sample = text[:8192]
    delimiter = "\t" if extension(source) == ".tsv" or sample.count("\t") > sample.count(",") else ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        header = next(reader)
    except (StopIteration, csv.Error) as exc:
        yield Problem(source, f"no CSV header ({exc})" if str(exc) else "no CSV header")
        return
    if "body" not in map_fields({h: "x" for h in header}):
        yield Problem(f"{source}:1", "CSV header has no text column (looked for "
                      + ", ".join(FIELD_NAMES["body"][:5]) + f"); header is {header[:8]}")
        return
    while True:
        try:
            row = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            yield Problem(f"{source}:{reader.line_num}", f"malformed CSV ({exc})")
            continue
        where = f"{source}:{reader.line_num}"
        if not any(cell.strip() for cell in row):
            continue
        if len(row) != len(header):
            yield Problem(where, f"row has {len(row)} fields, header has {len(header)}")
            continue
        yield _convert(dict(zip(header, row)), where)
