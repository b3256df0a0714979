"""CMS exports — JSON Lines, JSON arrays, CSV — to Articles, mapping the field names exports commonly use."""
from __future__ import annotations

import csv
import io
import itertools
import json
import re
from collections.abc import Iterator, Mapping
from typing import Any, BinaryIO

from .article import Article, Problem, make_article
from .dates import parse_date
from .formats import MAX_RECORD_BYTES, MiB, bounded_lines, decode_text, extension

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


_NOT_KEY = re.compile(r"[^a-z0-9]")
_KEYS: dict[str, str] = {}  # an export repeats its field names on every record: worked out once each


def _key(name: str) -> str:
    key = _KEYS.get(name)
    if key is None:
        key = _NOT_KEY.sub("", name.lower())
        if len(_KEYS) < 10_000:  # bounded: hostile input may name a new field on every record
            _KEYS[name] = key
    return key


_LOOKUP = {field: tuple(_key(n) for n in names) for field, names in FIELD_NAMES.items()}
_RANK: dict[str, tuple[str, int]] = {}  # key -> its field and how preferred it is there
for _field, _keys in _LOOKUP.items():
    for _rank, _k in enumerate(_keys):
        _RANK.setdefault(_k, (_field, _rank))


def map_fields(record: Mapping[str, Any]) -> dict[str, Any]:
    """Pick our fields out of a record whatever the export called them: for each field, the most preferred
    name with a value (of keys that read the same, the first)."""
    out: dict[str, Any] = {}
    best: dict[str, int] = {}
    seen: set[str] = set()
    for k, v in record.items():
        if not isinstance(k, str):
            continue
        key = _key(k)
        if key in seen:
            continue
        seen.add(key)
        fr = _RANK.get(key)
        if fr is None or v in (None, "", [], {}):
            continue
        field, rank = fr
        if rank < best.get(field, len(_LOOKUP[field])):
            best[field] = rank
            out[field] = v
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


csv.field_size_limit(MAX_RECORD_BYTES)  # a longer field is a problem on its row (characters, not bytes)


class _CsvLines:
    """A CSV file's lines as text for csv.reader, read a line at a time: a line over MAX_RECORD_BYTES is
    skipped a block at a time (RecordTooLarge from next(), after which reading goes on), bytes that are not
    UTF-8 end the file (ValueError naming the byte)."""

    def __init__(self, stream: BinaryIO):
        self._lines = bounded_lines(stream)
        self._offset = 0
        self._pending: list[str] = []

    def __iter__(self) -> "_CsvLines":
        return self

    def __next__(self) -> str:
        if self._pending:
            return self._pending.pop()
        raw = next(self._lines)
        if raw is None:
            raise RecordTooLarge(f"row over the {MAX_RECORD_BYTES // MiB} MB record limit: skipped")
        try:
            line = raw.decode("utf-8-sig" if not self._offset else "utf-8")
        except UnicodeDecodeError as exc:
            raise ValueError(f"not valid UTF-8 at byte {self._offset + exc.start}") from None
        self._offset += len(raw)
        if "\r" in line[:-2]:  # old Mac files end lines with a lone CR: split as universal newlines would
            *self._pending, line = reversed([x for x in re.split(r"(?<=\r)(?!\n)", line) if x])
        return line


class RecordTooLarge(ValueError):
    pass


def read_csv(data: bytes | BinaryIO, source: str) -> Iterator[Article | Problem]:
    """CSV/TSV rows (from bytes or a binary stream, read a line at a time) -> Articles."""
    lines = _CsvLines(io.BytesIO(data) if isinstance(data, bytes) else data)
    sample: list[str] = []  # the first lines, to tell commas from tabs
    while sum(map(len, sample)) < 8192:
        try:
            if (line := next(lines, None)) is None:
                break
            sample.append(line)
        except RecordTooLarge as exc:
            yield Problem(f"{source}:{len(sample) + 1}", str(exc))
        except ValueError as exc:
            yield Problem(source, str(exc))
            return
    if not "".join(sample).strip():
        yield Problem(source, "empty file")
        return
    text = "".join(sample)
    delimiter = "\t" if extension(source) == ".tsv" or text.count("\t") > text.count(",") else ","
    reader = csv.reader(itertools.chain(sample, lines), delimiter=delimiter)
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
        except RecordTooLarge as exc:
            yield Problem(f"{source}:{reader.line_num + 1}", str(exc))
            continue
        except csv.Error as exc:
            message = str(exc)
            if "field larger than field limit" in message:
                message = f"field over the {MAX_RECORD_BYTES // MiB} MB record limit: row skipped"
            else:
                message = f"malformed CSV ({message})"
            yield Problem(f"{source}:{reader.line_num}", message)
            continue
        except ValueError as exc:  # not UTF-8: what came before is kept, the rest cannot be read
            yield Problem(source, str(exc))
            return
        where = f"{source}:{reader.line_num}"
        if not any(cell.strip() for cell in row):
            continue
        if len(row) != len(header):
            yield Problem(where, f"row has {len(row)} fields, header has {len(header)}")
            continue
        yield _convert(dict(zip(header, row)), where)
