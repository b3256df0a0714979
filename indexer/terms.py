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
from .schema import TITLE_BOOST, text_analyzer

_ANALYZER: tantivy.TextAnalyzer | None = None


def term_counts(title: str, body: str) -> Counter[str]:
    """Analysed term counts of one article; title terms count TITLE_BOOST times (as the title boost)."""
    global _ANALYZER
    if _ANALYZER is None:  # one per process: analysers cannot be pickled into workers
        _ANALYZER = text_analyzer()
    counts = Counter(_ANALYZER.analyze(body))
    for t in _ANALYZER.analyze(title):
        counts[t] += TITLE_BOOST
    return counts


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
        self._rows: list[tuple[str, int, int, Counter[str]]] = []
        self._next = _next_chunk_number(chunk_files(index_dir))

    def add(self, article_id: str, id_hash: int, fingerprint: int, counts: Counter[str]) -> None:
        self._rows.append((article_id, id_hash, fingerprint, counts))

    def _term_id(self, term: str) -> int:
        i = self.vocab.get(term)
        if i is None:
            i = self.vocab[term] = len(self.vocab)
            self._new_terms.append(term)
        return i

    def flush(self) -> None:
        if not self._rows:
            return
        indptr, indices, data = [0], [], []
        for _, _, _, counts in self._rows:
            ids = [self._term_id(t) for t in counts]
            order = np.argsort(ids)
            indices.extend(np.asarray(ids, dtype=np.int32)[order])
            data.extend(np.asarray(list(counts.values()), dtype=np.float32)[order])
            indptr.append(len(indices))
        if self._new_terms:  # vocabulary first: a chunk never names a term id the vocabulary lacks
            with open(self.vocab_file, "a", encoding="utf-8") as fh:
                fh.write("".join(t + "\n" for t in self._new_terms))
                fh.flush()
                os.fsync(fh.fileno())
            self._new_terms = []
        _save_chunk(self.dir / f"chunk-{self._next:06d}.npz",
                    ids=np.array([r[0] for r in self._rows], dtype=object),
                    id_hash=np.array([r[1] for r in self._rows], dtype=np.int64),
                    fingerprint=np.array([r[2] for r in self._rows], dtype=np.int64),
                    indptr=np.asarray(indptr, dtype=np.int64), indices=np.asarray(indices, dtype=np.int32),
                    data=np.asarray(data, dtype=np.float32))
        self._next += 1
        self._rows = []


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
