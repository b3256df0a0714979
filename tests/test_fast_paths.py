"""The fast paths give what the plain ones gave: term rows and their vocabulary, near-duplicate sketches,
normalised text, export fields (indexing); the snippet window (search)."""
from __future__ import annotations

import json
import re
from collections import Counter

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from newssearch import Archive, build_index
from newssearch.indexer.article import indexed_title, normalise_space
from newssearch.indexer.copies import MAX_WORDS, NUM_PERM, SEED, shingle_hashes, sketch, sketches
from newssearch.indexer.records import _LOOKUP, FIELD_NAMES, map_fields
from newssearch.indexer.schema import id_hash, open_index, text_analyzer
from newssearch.indexer.terms import indexed_fingerprints, load_terms, term_counts, term_rows, tokenise
from newssearch.query.snippets import LEAD_CHARS, MAX_MATCHES, QueryTerms, _analyse, _best_window

from conftest import CORPUS


def expected_terms(archive: Archive, ids: list[str]) -> tuple[list[str], list[Counter]]:
    """What the plain path wrote for these articles, in this order: term_counts per article, and each term
    numbered where it first occurs (row by row, in each row's own order)."""
    vocab: dict[str, int] = {}
    rows = []
    for article_id in ids:
        a = archive.article(article_id)
        counts = term_counts(indexed_title(a), a.body)
        for t in counts:
            vocab.setdefault(t, len(vocab))
        rows.append(counts)
    return list(vocab), rows


def check_index_terms(index) -> int:
    """The term rows the indexer wrote equal term_counts of each stored article, sorted by term id, over the
    vocabulary the plain path numbered; returns the number of rows checked."""
    m = load_terms(index, indexed_fingerprints(open_index(index)))
    archive = Archive.open(index)
    vocab, rows = expected_terms(archive, m.ids)
    assert m.vocab == vocab
    ids = {t: i for i, t in enumerate(vocab)}
    for r, counts in enumerate(rows):
        got_i, got_d = m.indices[m.indptr[r]:m.indptr[r + 1]], m.data[m.indptr[r]:m.indptr[r + 1]]
        want = sorted((ids[t], c) for t, c in counts.items())
        assert got_i.tolist() == [i for i, _ in want]
        assert got_d.tolist() == [float(np.float32(c)) for _, c in want]
    return m.n


def test_indexed_term_rows_equal_the_plain_path(corpus_index):
    assert check_index_terms(corpus_index) == 1804


def test_term_rows_across_parts_batches_and_workers(tmp_path):
    # small batches and two workers: parts split over batches, terms new in each part numbered in order
    index = tmp_path / "index"
    report = build_index([CORPUS / "reuters", CORPUS / "cms", CORPUS / "bbc"], index, workers=2, batch_size=173)
    assert report.failed == 0 and report.added > 1000
    assert check_index_terms(index) == report.total


def test_term_rows_of_upserted_articles(tmp_path):
    src, index = tmp_path / "feed.jsonl", tmp_path / "index"
    posts = json.loads((CORPUS / "cms" / "reuters-1987-04-export.json").read_text(encoding="utf-8"))["posts"]
    records = [{"id": p["guid"], "title": p["title"]["rendered"], "body": p["content"]["rendered"]} for p in posts[:60]]
    src.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    build_index([src], index, batch_size=25)
    changed = [dict(r, body=r["body"].replace("</p>", " Later: a correction about zeppelins.</p>", 1)) if i % 3 == 0 else r
               for i, r in enumerate(records)]
    src.write_text("".join(json.dumps(r) + "\n" for r in changed), encoding="utf-8")
    report = build_index([src], index, batch_size=25)
    assert report.updated > 0
    m = load_terms(index, indexed_fingerprints(open_index(index)))
    archive = Archive.open(index)
    for r, article_id in enumerate(m.ids):
        a = archive.article(article_id)
        got = {m.vocab[i]: d for i, d in zip(m.indices[m.indptr[r]:m.indptr[r + 1]], m.data[m.indptr[r]:m.indptr[r + 1]])}
        assert got == {t: float(np.float32(c)) for t, c in term_counts(indexed_title(a), a.body).items()}
    assert "zeppelin" in m.vocab


def test_term_rows_of_empty_and_odd_texts():
    texts = [("", ""), ("Only a title", ""), ("", "Only a body, body, body."), ("Ünïcödé café", "naïve café, 東京 2024"),
             ("x" * 60, "a " + "y" * 45 + " b")]
    rows = term_rows(texts)
    assert len(rows) == len(texts)
    for j, (title, body) in enumerate(texts):
        got = [(rows.vocab[i], float(d)) for i, d in zip(rows.indices[rows.indptr[j]:rows.indptr[j + 1]],
                                                         rows.data[rows.indptr[j]:rows.indptr[j + 1]])]
        assert got == [(t, float(c)) for t, c in term_counts(title, body).items()]  # same terms, same order


_M64 = (1 << 64) - 1


def plain_shingle_hashes(title: str, body: str) -> list[int]:
    """Word 5-shingle hashes, one article at a time in plain Python: the words as the analyser gives them
    (headline, then the text, MAX_WORDS in all), each hashed by rensa, five combined and mixed (splitmix64)."""
    from rensa import RMinHash

    analyzer = text_analyzer(stem=False)
    head = analyzer.analyze(title)
    words = (head + analyzer.analyze(body))[:max(len(head), MAX_WORDS)]
    word_hash = dict(zip(words, RMinHash.hash_token_sets([words])[0])) if words else {}
    hashes = [word_hash[w] for w in words]
    grams = [hashes[i:i + 5] for i in range(len(hashes) - 4)] if len(hashes) >= 5 else [hashes] if hashes else []
    out = []
    for gram in grams:
        h = gram[0]
        for x in gram[1:]:
            h = (h * 0x9E3779B97F4A7C15 + x) & _M64
        h = ((h ^ (h >> 30)) * 0xBF58476D1CE4E5B9) & _M64
        h = ((h ^ (h >> 27)) * 0x94D049BB133111EB) & _M64
        out.append(h ^ (h >> 31))
    return out


def sketch_texts() -> list[tuple[str, str]]:
    posts = json.loads((CORPUS / "cms" / "reuters-1987-04-export.json").read_text(encoding="utf-8"))["posts"]
    texts = [(p["title"]["rendered"], re.sub(r"<[^>]+>", " ", p["content"]["rendered"])) for p in posts]
    return texts + [("", ""), ("", "one"), ("Two words", ""), ("a b c d", "e"), ("x", "y z"), ("Ünïcödé café", "東京 2024"),
                    ("", "word " * (MAX_WORDS + 50)), ("t " * (MAX_WORDS + 3), "cut entirely")]


def test_shingle_hashes_are_the_plain_result():
    texts = sketch_texts()
    hashes, offsets = shingle_hashes(tokenise(texts))
    assert len(offsets) == len(texts) + 1
    for i, (title, body) in enumerate(texts):
        assert hashes[offsets[i]:offsets[i + 1]].tolist() == plain_shingle_hashes(title, body), i


def test_sketches_are_rensas_minhash_of_the_shingles():
    """The batch path (one rensa call for a part, the state written in numpy) gives the RMinHash that rensa
    itself builds from the same shingle hashes, one article at a time; a lone article sketches the same."""
    from rensa import RMinHash

    texts = sketch_texts()
    got = sketches(tokenise(texts), [None] * len(texts))
    for i, (title, body) in enumerate(texts):
        plain = plain_shingle_hashes(title, body)
        want = RMinHash.digest_matrix_from_token_hash_sets([plain], NUM_PERM, SEED).to_rows()[0]
        assert got[i].minhash.digest() == want and got[i].size == len(plain), i
        assert sketch(title, body) == got[i]


def plain_normalise_space(text: str) -> str:
    """The paragraph-by-paragraph version normalise_space replaced."""
    paragraphs = re.split(r"\n\s*\n", text.replace("\r\n", "\n").replace("\r", "\n"))
    cleaned = (re.sub(r"\s+", " ", p).strip() for p in paragraphs)
    return "\n\n".join(p for p in cleaned if p)


@settings(max_examples=500, deadline=None)
@given(st.lists(st.sampled_from(["a", "b", " ", "  ", "\n", "\r", "\r\n", "\t", "\x0b", "\x0c", "\x1c", "\x85",
                                 "\xa0", "\u2028", "\u3000", "é"]), max_size=30).map("".join))
def test_normalise_space_is_the_paragraph_by_paragraph_result(text):
    assert normalise_space(text) == plain_normalise_space(text)


def test_normalise_space_on_corpus_texts():
    posts = json.loads((CORPUS / "cms" / "reuters-1987-04-export.json").read_text(encoding="utf-8"))["posts"]
    texts = [p["content"]["rendered"] for p in posts] + [p.read_text(encoding="utf-8") for p in (CORPUS / "pages" / "dumps").glob("*.txt")]
    texts += [t.replace(". ", ".\r\n \r\n").replace(" ", "  \n", 3) for t in texts]  # breaks and runs as exports have
    assert len(texts) > 100
    for t in texts:
        assert normalise_space(t) == plain_normalise_space(t)


def plain_map_fields(record: dict) -> dict:
    """The field-by-field version map_fields replaced."""
    by_key: dict = {}
    for k, v in record.items():
        if isinstance(k, str):
            by_key.setdefault(re.sub(r"[^a-z0-9]", "", k.lower()), v)
    out = {}
    for field, keys in _LOOKUP.items():
        for k in keys:
            v = by_key.get(k)
            if v not in (None, "", [], {}):
                out[field] = v
                break
    return out


@settings(max_examples=500, deadline=None)
@given(st.dictionaries(st.sampled_from([n for ns in FIELD_NAMES.values() for n in ns] + ["Title", "BODY", "Pub-Date", "x"]),
                       st.sampled_from([None, "", [], {}, "v", "w", 0, ["a"], {"rendered": "r"}]), max_size=8))
def test_map_fields_is_the_field_by_field_result(record):
    assert map_fields(record) == plain_map_fields(record)


def plain_best_window(matches: list[tuple[int, int, str]], chars: int, length: int) -> tuple[int, int]:
    """The version that counted each window's terms afresh (a set per match)."""
    best, best_key = (0, 0), (-1, -1)
    j = 0
    for i, (m_start, _, _) in enumerate(matches):
        start = max(0, m_start - LEAD_CHARS)
        end = min(length, start + chars)
        j = max(j, i)
        while j + 1 < len(matches) and matches[j + 1][1] <= end:
            j += 1
        key = (len({s for _, _, s in matches[i:j + 1]}), j + 1 - i)
        if key > best_key:
            best, best_key = (start, end), key
    start, end = best
    if end - start < chars and start > 0:
        start = max(0, end - chars)
    return start, end


@settings(max_examples=1000, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 3000), st.integers(1, 60), st.sampled_from("abcde")), min_size=1, max_size=40),
       st.sampled_from([20, 60, 200, 400]))
def test_best_window_is_the_plain_result(raw, chars):
    length = 3100
    matches = [(start, min(length, start + n), stem) for start, n, stem in sorted(raw)]
    assert _best_window(matches, chars, length) == plain_best_window(matches, chars, length)


def test_snippet_matches_from_case_folded_scans_equal_case_blind_ones():
    posts = json.loads((CORPUS / "cms" / "reuters-1987-04-export.json").read_text(encoding="utf-8"))["posts"]
    bodies = [re.sub(r"<[^>]+>", " ", p["content"]["rendered"]) for p in posts]
    bodies += ["Straße STRASSE İstanbul OIL Oil oil", "Some KELVIN Ωmega café CAFÉ ΣΊΣΥΦΟΣ σίσυφος"]
    queries = ["oil prices", "bank rates cut", "trade deficit japan", "strasse istanbul", "some kelvin cafe",
               "why did the company say it would sell shares", "OPEC output", "σίσυφος"]
    found = 0
    for q in queries:
        terms = QueryTerms.of(q)
        for body in bodies:
            # The plain way: a case-blind scan for whole words that start with a prefix.
            scan = re.finditer(r"\b(?:" + "|".join(map(re.escape, terms.prefixes)) + r")\w*", body, re.IGNORECASE)
            blind = [(m.start(), m.end(), _analyse(m.group())) for m in scan]
            blind = [m for m in blind if m[2] in terms.stems][:MAX_MATCHES]
            assert terms.matches(body) == blind
            found += bool(blind)
    assert found > 50


def _sketch_rows(index) -> dict[int, bytes]:
    rows = {}
    for path in sorted((index / "copies").glob("chunk-*.npz")):
        with np.load(path) as z:
            for h, state, n in zip(z["id_hash"].tolist(), z["state"], z["state_len"].tolist()):
                rows[h] = bytes(state[:n])
    return rows


def test_articles_sketched_again_from_stored_text_sketch_as_the_workers_did(tmp_path):
    """With its sketch rows lost, a run that places something sketches every indexed article again from the
    stored article, in batches: the same sketches the parse workers made from the input."""
    src, index = tmp_path / "feed.jsonl", tmp_path / "index"
    posts = json.loads((CORPUS / "cms" / "reuters-1987-04-export.json").read_text(encoding="utf-8"))["posts"]
    records = [{"id": p["guid"], "title": p["title"]["rendered"] if i % 5 else "", "body": p["content"]["rendered"],
                "date": p.get("date")} for i, p in enumerate(posts)]
    src.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    build_index([src], index, workers=2)
    first = _sketch_rows(index)
    assert len(first) == len(records) > 50
    for path in (index / "copies").glob("chunk-*.npz"):
        path.unlink()
    records[0]["body"] += "<p>A later paragraph about zeppelins.</p>"
    src.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    assert build_index([src], index).updated == 1
    again = _sketch_rows(index)
    changed = id_hash(records[0]["id"])
    assert set(again) == set(first)
    assert again[changed] != first[changed]
    assert {h: s for h, s in again.items() if h != changed} == {h: s for h, s in first.items() if h != changed}
