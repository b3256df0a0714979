"""The Tantivy schema and analysers: the contract between the indexer (writes) and query (reads).

An index directory holds `tantivy/` (the Tantivy index), `newssearch.json` (what wrote it) and, beside
them, files other parts of newssearch keep in step with the index.
"""
from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import tantivy

from newssearch.errors import IndexBusy, IndexNotFound, IndexUnusable

SCHEMA_VERSION = 5  # 2: the `words` field (search-as-you-type); 3: `shown_title`, `published`;
# 4: `group`/`copy` (near-duplicate groups); 5: `grouped` (the members of groups with copies, one term)
READABLE_VERSIONS = (4, 5)  # a version 4 index is read and written as it is (folding then costs two searches)
TEXT_ANALYZER = "news"  # words, lowercased, accents folded, English stemming
KEYWORD_ANALYZER = "keyword"  # the whole value, lowercased: exact but case-blind filters
WORDS_ANALYZER = "words"  # words as written, lowercased: completions show real words, not stems
TITLE_BOOST = 2.0
DEFAULT_FIELDS = ["title", "body"]


# Errors live in newssearch.errors (exported from `newssearch`); IndexError_ is the old name of IndexUnusable.
IndexError_ = IndexUnusable


def text_analyzer(stem: bool = True) -> tantivy.TextAnalyzer:
    """`stem=False`: the words before stemming (`stem_analyzer` then stems one word at a time)."""
    builder = (tantivy.TextAnalyzerBuilder(tantivy.Tokenizer.simple())
               .filter(tantivy.Filter.remove_long(40))
               .filter(tantivy.Filter.lowercase())
               .filter(tantivy.Filter.ascii_fold()))
    return (builder.filter(tantivy.Filter.stemmer("english")) if stem else builder).build()


def stem_analyzer() -> tantivy.TextAnalyzer:
    """The text analyser's last step alone: one word in, its stem out."""
    return tantivy.TextAnalyzerBuilder(tantivy.Tokenizer.raw()).filter(tantivy.Filter.stemmer("english")).build()


def keyword_analyzer() -> tantivy.TextAnalyzer:
    return tantivy.TextAnalyzerBuilder(tantivy.Tokenizer.raw()).filter(tantivy.Filter.lowercase()).build()


def words_analyzer() -> tantivy.TextAnalyzer:
    return (tantivy.TextAnalyzerBuilder(tantivy.Tokenizer.simple())
            .filter(tantivy.Filter.remove_long(25))
            .filter(tantivy.Filter.lowercase())
            .build())


def build_schema(version: int = SCHEMA_VERSION) -> tantivy.Schema:
    sb = tantivy.SchemaBuilder()
    sb.add_text_field("id", stored=True, tokenizer_name="raw")
    sb.add_integer_field("id_hash", stored=False, indexed=True, fast=True)
    sb.add_integer_field("fingerprint", stored=False, indexed=False, fast=True)
    sb.add_text_field("url", stored=True, tokenizer_name="raw")
    sb.add_text_field("title", stored=True, tokenizer_name=TEXT_ANALYZER)
    # A title made up from the body's first words: shown, not searched (the body already holds it).
    sb.add_text_field("shown_title", stored=True, tokenizer_name="raw", index_option="basic")
    sb.add_text_field("body", stored=True, tokenizer_name=TEXT_ANALYZER)
    # Title and body words unstemmed, documents only (no positions): the dictionary search-as-you-type
    # completes from, with document frequencies.
    sb.add_text_field("words", stored=False, tokenizer_name=WORDS_ANALYZER, index_option="basic")
    # Facets are indexed, never stored: the facet filters; category_path (every ancestor path, fast) counts;
    # categories (the article's own paths, stored) displays.
    sb.add_facet_field("category")
    sb.add_text_field("category_path", stored=False, tokenizer_name="raw", fast=True)
    sb.add_text_field("categories", stored=True, tokenizer_name="raw")
    sb.add_text_field("author", stored=True, tokenizer_name=KEYWORD_ANALYZER)
    sb.add_text_field("site", stored=True, tokenizer_name=KEYWORD_ANALYZER)
    sb.add_date_field("date", stored=True, indexed=True, fast=True)
    # The date as epoch seconds: dates cannot be read from fast fields in Python, and recency ranking needs them.
    sb.add_integer_field("published", stored=False, indexed=False, fast=True)
    sb.add_text_field("source", stored=True, tokenizer_name="raw", index_option="basic")
    # Near-duplicate groups (indexer/copies.py): copies of one story share `group`; `copy` marks the
    # articles that joined an existing group (search folds groups and counts them: query/fold.py).
    sb.add_integer_field("group", stored=True, indexed=True, fast=True)
    sb.add_boolean_field("copy", stored=False, indexed=True, fast=True)
    if version >= 5:
        # `grouped`: the copies, and each founder whose first copy came in its own batch (indexer/build.py):
        # one term finds a query's matching members for folding (query/fold.py).
        sb.add_boolean_field("grouped", stored=False, indexed=True, fast=False)
    return sb.build()


def has_grouped(schema: tantivy.Schema) -> bool:
    """Whether the index has the `grouped` flag (version 5; a version 4 index has none)."""
    try:
        tantivy.Query.term_query(schema, "grouped", True)
    except ValueError:
        return False
    return True


def id_hash(article_id: str) -> int:
    """The article id as a 63-bit integer: a fast field to find ids without reading stored documents."""
    return int.from_bytes(hashlib.blake2b(article_id.encode("utf-8", "surrogatepass"), digest_size=8).digest(),
                          "big") >> 1


def tantivy_dir(index_dir: str | Path) -> Path:
    return Path(index_dir) / "tantivy"


def _register(index: tantivy.Index) -> tantivy.Index:
    # Custom analysers are not saved in the index: register them on every open.
    index.register_tokenizer(TEXT_ANALYZER, text_analyzer())
    index.register_tokenizer(KEYWORD_ANALYZER, keyword_analyzer())
    index.register_tokenizer(WORDS_ANALYZER, words_analyzer())
    return index


def open_index(index_dir: str | Path, create: bool = False) -> tantivy.Index:
    """Open the Tantivy index of a newssearch index directory (creating it if asked)."""
    index_dir = Path(index_dir)
    meta_file = index_dir / "newssearch.json"
    tdir = tantivy_dir(index_dir)
    if meta_file.exists():
        meta = json.loads(meta_file.read_text())
        version = meta.get("schema_version")
        if version not in READABLE_VERSIONS:
            raise IndexUnusable(index_dir, f"{index_dir}: index written by schema version {version}, this "
                                f"newssearch reads versions {', '.join(map(str, READABLE_VERSIONS))}; "
                                "re-index into a new directory")
        tdir.mkdir(exist_ok=True)  # a run killed right after writing the marker: an empty index
        return _register(tantivy.Index(build_schema(version), path=str(tdir), reuse=True))
    if not create:
        if index_dir.exists() and any(index_dir.iterdir()):
            raise IndexNotFound(index_dir, f"{index_dir} is not a newssearch index (no newssearch.json)")
        raise IndexNotFound(index_dir, f"no index at {index_dir}: run `newssearch index PATH --index {index_dir}` "
                            "first")
    if tdir.exists() and any(tdir.iterdir()):
        raise IndexUnusable(index_dir, f"{index_dir}: holds a Tantivy index but no newssearch.json; not creating "
                            "over it")
    # The marker first, atomically: a run killed between the two steps leaves a directory that opens as an
    # empty index (Tantivy creates one in an empty folder), never one that is refused.
    index_dir.mkdir(parents=True, exist_ok=True)
    tmp = meta_file.with_suffix(".tmp")
    tmp.write_text(json.dumps({"schema_version": SCHEMA_VERSION, "analyzer": TEXT_ANALYZER}) + "\n")
    os.replace(tmp, meta_file)
    tdir.mkdir(parents=True, exist_ok=True)
    return _register(tantivy.Index(build_schema(), path=str(tdir), reuse=True))
