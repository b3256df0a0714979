"""The article x term counts kept beside the Tantivy index, for related posts.

Tantivy-py does not expose term vectors, so the indexer tokenises each article with the index's own
analyser and stores its term counts here: `DIR/terms/vocab.txt` (one term a line; the line number is the
term id, append-only) and `DIR/terms/chunk-NNNNNN.npz` (CSR rows of one index batch, with each row's
id_hash and fingerprint). A chunk is written *before* the Tantivy commit of its batch; readers keep only
rows whose (id_hash, fingerprint) the index holds, so a crash, an upsert or a rolled-back batch can never
leave the two out of step: stale rows are simply ignored (and compacted away later).
"""
from __future__ import annotations

import os
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import tantivy

from .faults import failpoint
from .schema import TITLE_BOOST, stem_analyzer, text_analyzer

_ANALYZER: tantivy.TextAnalyzer | None = None


def term_counts(title: str, body: str) -> Counter[str]:
    """Analysed term counts of one article; title terms count TITLE_BOOST times (as the title boost).

    The plain reference for `term_rows` (which the indexer uses): same counts, same order."""
    global _ANALYZER
    if _ANALYZER is None:  # one per process: analysers cannot be pickled into workers
        _ANALYZER = text_analyzer()
    counts = Counter(_ANALYZER.analyze(body))
    for t in _ANALYZER.analyze(title):
        counts[t] += TITLE_BOOST
    return counts


@dataclass
class TermRows:
    """The term counts of a run of articles, as CSR rows over a vocabulary of their own.

    Each row lists its terms in the order `term_counts` does (first seen in the body, then in the title),
    so the term ids the writer gives new terms follow the same order as before."""

    vocab: list[str]  # local term id -> term
    indptr: np.ndarray  # int64 [n+1]
    indices: np.ndarray  # int32 local term ids
    data: np.ndarray  # float32 counts, title terms weighted
    global_ids: np.ndarray | None = None  # local -> the writer's term id, -1 until given (writer side)

    def __len__(self) -> int:
        return len(self.indptr) - 1


_FOLD: tantivy.TextAnalyzer | None = None
_STEM: tantivy.TextAnalyzer | None = None
_STEMS: dict[str, str] = {}  # word -> stem, kept across the parts a worker reads (bounded)
_STEMS_MAX = 1_000_000


class Numbering(dict):
    """Word (or term) -> its number, numbered as first met: a dict lookup per token, through map()
    (`numbers.__getitem__`), with Python run only for a word not seen before."""

    def __missing__(self, word: str) -> int:
        i = self[word] = len(self)
        return i


@dataclass
class Tokens:
    """A run of (title, body) pairs analysed once (words split, lowercased, accents folded, not stemmed):
    what the related-posts term rows and the near-duplicate sketches (indexer/copies.py) are both made of."""

    words: list[str]  # local word id -> word
    ids: np.ndarray  # int64: the word id of every token, each article's body, then its title
    ends: np.ndarray  # int64 [2n]: the token offsets where each body, then each title, ends

    def __len__(self) -> int:
        return len(self.ends) // 2


def tokenise(texts: list[tuple[str, str]]) -> Tokens:
    """One analyser pass over each text; no Python per token beyond a dictionary lookup through map()."""
    global _FOLD, _STEM
    if _FOLD is None:
        _FOLD, _STEM = text_analyzer(stem=False), stem_analyzer()
    ids = Numbering()
    lookup = ids.__getitem__
    tokens: list[int] = []
    ends: list[int] = []
    for title, body in texts:
        tokens.extend(map(lookup, _FOLD.analyze(body)))
        ends.append(len(tokens))
        tokens.extend(map(lookup, _FOLD.analyze(title)))
        ends.append(len(tokens))
    return Tokens(words=list(ids), ids=np.asarray(tokens, dtype=np.int64), ends=np.asarray(ends, dtype=np.int64))


def _stem_ids(words: list[str]) -> tuple[np.ndarray, list[str]]:
    """Each word's stem as a local stem id, and the stems. The stemmer runs once per distinct word, not per
    token: stemming is most of what analysing costs, and a word's stem does not depend on where it stands."""
    stem_ids: dict[str, int] = {}
    out = np.empty(len(words), dtype=np.int64)
    for w, word in enumerate(words):
        stem = _STEMS.get(word)
        if stem is None:
            if len(_STEMS) >= _STEMS_MAX:
                _STEMS.clear()
            stem = _STEMS[word] = _STEM.analyze(word)[0]
        i = stem_ids.get(stem)
        if i is None:
            i = stem_ids[stem] = len(stem_ids)
        out[w] = i
    return out, list(stem_ids)


def term_rows(texts: list[tuple[str, str]] | Tokens) -> TermRows:
    """Term rows of (title, body) pairs (or of their Tokens): what `term_counts` gives for each, counted in
    numpy."""
    tok = texts if isinstance(texts, Tokens) else tokenise(texts)
    word_stem, vocab = _stem_ids(tok.words)
    n, v = len(tok), max(1, len(vocab))
    seg_len = np.diff(np.r_[np.int64(0), tok.ends])
    segment = np.repeat(np.arange(2 * n, dtype=np.int64), seg_len)
    key = (segment >> 1) * v + word_stem[tok.ids]  # (article, term)
    weight = np.where(segment & 1, TITLE_BOOST, 1.0)
    perm = np.argsort(key, kind="stable")  # equal keys keep token order: a group's first is its first token
    sorted_key = key[perm]
    starts = np.flatnonzero(np.r_[True, sorted_key[1:] != sorted_key[:-1]]) if len(key) else np.zeros(0, np.int64)
    counts = np.add.reduceat(weight[perm], starts) if len(key) else np.zeros(0)
    rank = np.full(len(key), -1, dtype=np.int64)
    rank[perm[starts]] = np.arange(len(starts))
    order = rank[rank >= 0]  # groups by first token: article by article, each term where it first occurs
    uniq = sorted_key[starts][order]
    indptr = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(np.bincount(uniq // v, minlength=n), out=indptr[1:])
    return TermRows(vocab=vocab, indptr=indptr, indices=(uniq % v).astype(np.int32),
                    data=counts[order].astype(np.float32))


def terms_dir(index_dir: str | Path) -> Path:
    return Path(index_dir) / "terms"


def chunk_files(index_dir: str | Path) -> list[Path]:
    """The term chunk files of an index, oldest first."""
    return sorted(terms_dir(index_dir).glob("chunk-*.npz"))


def _next_chunk_number(chunks: list[Path]) -> int:
    return int(chunks[-1].stem.split("-")[1]) + 1 if chunks else 0


def indexed_fingerprints(index: tantivy.Index) -> dict[int, int]:
    """id_hash -> fingerprint for every article in the index, read from fast fields."""
    index.reload()
    searcher = index.searcher()
    n = searcher.num_docs
    if n == 0:
        return {}
    addrs = [addr for _, addr in searcher.search(tantivy.Query.all_query(), limit=n).hits]
    return dict(zip(searcher.fast_field_values("id_hash", addrs), searcher.fast_field_values("fingerprint", addrs)))


class TermWriter:
    """Appends the term rows of each batch; `flush()` before the Tantivy commit of that batch."""

    def __init__(self, index_dir: str | Path):
        self.dir = terms_dir(index_dir)
        self.dir.mkdir(parents=True, exist_ok=True)
        self.vocab_file = self.dir / "vocab.txt"
        self.vocab: dict[str, int] = {}
        if self.vocab_file.exists():
            _drop_partial_line(self.vocab_file)
            with open(self.vocab_file, encoding="utf-8") as fh:
                self.vocab = {line.rstrip("\n"): i for i, line in enumerate(fh)}
        for stale in self.dir.glob("*.tmp"):  # a chunk a crashed run did not finish writing
            stale.unlink()
        self._new_terms: list[str] = []
        self._keys: list[tuple[str, int, int]] = []  # (id, id_hash, fingerprint) per row
        self._picks: list[tuple[TermRows, list[int]]] = []  # which rows of which TermRows, in order
        self._next = _next_chunk_number(chunk_files(index_dir))

    def add(self, article_id: str, id_hash: int, fingerprint: int, rows: TermRows, row: int) -> None:
        """Row `row` of `rows` is the article's; rows of one TermRows come in order."""
        self._keys.append((article_id, id_hash, fingerprint))
        if self._picks and self._picks[-1][0] is rows:
            self._picks[-1][1].append(row)
        else:
            self._picks.append((rows, [row]))

    def _global_ids(self, rows: TermRows, local: np.ndarray) -> np.ndarray:
        """Term ids of the local ids `local` (entries in row order); terms new to the vocabulary get the
        next ids in the order they first occur, as when each row's terms were numbered one by one."""
        if rows.global_ids is None:
            rows.global_ids = np.full(len(rows.vocab), -1, dtype=np.int64)
        g = rows.global_ids
        unset = local[g[local] < 0]
        if len(unset):
            uniq, first = np.unique(unset, return_index=True)
            for lid in uniq[np.argsort(first)].tolist():
                term = rows.vocab[lid]
                i = self.vocab.get(term)
                if i is None:
                    i = self.vocab[term] = len(self.vocab)
                    self._new_terms.append(term)
                g[lid] = i
        return g[local]

    def _batch_rows(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """indptr, indices, data of the rows added since the last flush, each row sorted by term id."""
        lengths, parts_i, parts_d = [], [], []
        for rows, picked in self._picks:
            js = np.asarray(picked, dtype=np.int64)
            starts, ends = rows.indptr[js], rows.indptr[js + 1]
            n = ends - starts
            entry = np.repeat(starts - np.r_[0, np.cumsum(n)[:-1]], n) + np.arange(n.sum())
            gid = self._global_ids(rows, rows.indices[entry])
            # by row, then term id: one argsort of a combined key (a row holds a term once)
            order = np.argsort(np.repeat(np.arange(len(js), dtype=np.int64), n) * (len(self.vocab) + 1) + gid)
            lengths.append(n)
            parts_i.append(gid[order].astype(np.int32))
            parts_d.append(rows.data[entry][order])
        indptr = np.zeros(len(self._keys) + 1, dtype=np.int64)
        np.cumsum(np.concatenate(lengths), out=indptr[1:])
        return indptr, np.concatenate(parts_i), np.concatenate(parts_d)

    def flush(self) -> None:
        if not self._keys:
            return
        indptr, indices, data = self._batch_rows()
        if self._new_terms:  # vocabulary first: a chunk never names a term id the vocabulary lacks
            with open(self.vocab_file, "a", encoding="utf-8") as fh:
                fh.write("".join(t + "\n" for t in self._new_terms))
                fh.flush()
                os.fsync(fh.fileno())
            self._new_terms = []
        _save_chunk(self.dir / f"chunk-{self._next:06d}.npz",
                    ids=np.array([k[0] for k in self._keys], dtype=object),
                    id_hash=np.array([k[1] for k in self._keys], dtype=np.int64),
                    fingerprint=np.array([k[2] for k in self._keys], dtype=np.int64),
                    indptr=indptr, indices=indices, data=data)
        self._next += 1
        self._keys, self._picks = [], []


def _drop_partial_line(path: Path) -> None:
    """A run killed while appending can leave a last line without its newline: cut it, or the next term
    appended would merge into it and shift every later term id."""
    with open(path, "rb+") as fh:
        data = fh.read()
        if data and not data.endswith(b"\n"):
            fh.truncate(data.rfind(b"\n") + 1)


def _save_chunk(path: Path, **arrays: np.ndarray) -> None:
    ids = arrays.pop("ids")
    tmp = path.with_suffix(".tmp")
    with open(tmp, "wb") as fh:
        # ids as one newline-joined UTF-8 blob: no pickle in files we read back
        np.savez(fh, ids=np.frombuffer("\n".join(ids).encode("utf-8"), dtype=np.uint8), **arrays)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


@dataclass
class TermMatrix:
    """Term counts of the articles the index holds now: CSR rows, one per article."""

    ids: list[str]
    id_hash: np.ndarray  # int64 [n]
    indptr: np.ndarray  # int64 [n+1]
    indices: np.ndarray  # int32 term ids
    data: np.ndarray  # float32 counts (title terms weighted)
    vocab: list[str]

    @property
    def n(self) -> int:
        return len(self.ids)


def load_terms(index_dir: str | Path, live: dict[int, int]) -> TermMatrix:
    """The rows matching the index's live (id_hash -> fingerprint) map; the latest chunk wins."""
    d = terms_dir(index_dir)
    vocab = (d / "vocab.txt").read_text(encoding="utf-8").split("\n")[:-1] if (d / "vocab.txt").exists() else []
    picked: dict[int, tuple[int, int]] = {}  # id_hash -> (chunk number, row)
    chunks = []
    for ci, path in enumerate(chunk_files(index_dir)):
        with np.load(path) as z:
            c = {k: z[k] for k in z.files}
        c["ids"] = bytes(c["ids"]).decode("utf-8").split("\n")
        chunks.append(c)
        for row, (h, fp) in enumerate(zip(c["id_hash"].tolist(), c["fingerprint"].tolist())):
            if live.get(h) == fp:
                picked[h] = (ci, row)
    ids, hashes, lengths, parts_i, parts_d = [], [], [], [], []
    for h, (ci, row) in sorted(picked.items(), key=lambda kv: kv[1]):
        c = chunks[ci]
        a, b = c["indptr"][row], c["indptr"][row + 1]
        ids.append(c["ids"][row])
        hashes.append(h)
        lengths.append(b - a)
        parts_i.append(c["indices"][a:b])
        parts_d.append(c["data"][a:b])
    indptr = np.zeros(len(ids) + 1, dtype=np.int64)
    np.cumsum(lengths, out=indptr[1:])
    return TermMatrix(ids=ids, id_hash=np.asarray(hashes, dtype=np.int64), indptr=indptr,
                      indices=np.concatenate(parts_i) if parts_i else np.zeros(0, np.int32),
                      data=np.concatenate(parts_d) if parts_d else np.zeros(0, np.float32), vocab=vocab)


def compact(index_dir: str | Path, live: dict[int, int]) -> None:
    """Rewrite the chunks as one when stale rows outnumber live ones (after many upserts)."""
    d = terms_dir(index_dir)
    chunks = chunk_files(index_dir)
    if len(chunks) < 2:
        return
    total = 0
    for path in chunks:
        with np.load(path) as z:
            total += len(z["id_hash"])
    if total <= 2 * max(1, len(live)) and len(chunks) < 64:
        return
    m = load_terms(index_dir, live)
    fps = np.array([live[h] for h in m.id_hash.tolist()], dtype=np.int64)
    _save_chunk(d / f"chunk-{_next_chunk_number(chunks):06d}.npz", ids=np.array(m.ids, dtype=object), id_hash=m.id_hash,
                fingerprint=fps, indptr=m.indptr, indices=m.indices, data=m.data)
    failpoint("compact")  # old and new chunks both present: the newest wins, nothing is lost
    for path in chunks:
        path.unlink()
