"""Near-duplicate groups: articles that are the same story share a group id, set at index time.

Syndication copies a wire story with another site's boilerplate, an edited headline, a trimmed ending.
Each article is sketched by MinHash over its word 5-shingles (headline and text, lowercased, accents
folded) with rensa (a maintained Rust MinHash/LSH library); its LSH index finds the indexed articles that
could be copies, and a candidate joins the article's group when both

- the estimated Jaccard similarity of the shingle sets is at least MIN_JACCARD, and
- the estimated containment (shared shingles over the smaller set) is at least MIN_CONTAINMENT,

and, when both are dated, they are at most MAX_DAYS_APART days apart (syndication republishes a story
within days; a weekly template, such as the Fed's operations or a grain report, repeats its wording a
week later with other facts) unless they are all but the same text (MIN_JACCARD_ANY_DATE). So a copy cut
by a third with another site's furniture around it still joins, while formulaic items that share a
template do not. An article joins the group of its most similar match; with none it founds a group (its
id hash as group id).

Sketching costs little beside the rest of indexing: the words are the ones the related-posts term rows
are counted from (one analyser pass, indexer/terms.py), each distinct word is hashed once (rensa's token
hash), a shingle's hash combines its five words' in numpy, and one rensa call makes the MinHashes of a
whole file part from those hashes.

The sketches live beside the index (`DIR/copies/chunk-NNNNNN.npz`, one chunk per index batch, written
before that batch's commit) and are matched to the index by (id_hash, fingerprint), as the term rows
are (indexer/terms.py): a crash, an upsert or a rolled-back batch leaves only stale rows, which are
ignored. The group itself is stored with each article in the index (`group`, and `copy`: joined an
existing group), so search can fold groups (query/fold.py). The LSH index is built only when a run has
something new to place, from these chunks; articles with no row (a lost chunk, another rensa release)
are sketched again from their stored text.
"""
from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import numpy as np
import tantivy

from .article import Article, indexed_title
from .terms import Tokens, tokenise

NUM_PERM = 64
BANDS = 32  # 32 bands of 2 rows: a pair with Jaccard 0.3 is a candidate with p=0.95, 0.4 with p=0.996
SEED = 18
SHINGLE = 5  # words
MIN_JACCARD = 0.4
MIN_CONTAINMENT = 0.65
MAX_DAYS_APART = 3
MIN_JACCARD_ANY_DATE = 0.9
FORMAT = {"library": "rensa", "algorithm": "RMinHash", "num_perm": NUM_PERM, "seed": SEED, "shingle": SHINGLE,
          "version": 3}

_RENSA = None


def _rensa():
    """rensa, imported on first use (not at import: `newssearch search` never needs it), then from the
    module cache without the import statement's lookup, which costs as much as the rest of `minhash`."""
    global _RENSA
    if _RENSA is None:
        import rensa

        _RENSA = rensa
    return _RENSA


@dataclass
class Sketch:
    """What the worker computes for one article: its MinHash, how many shingles it has, its day."""

    state: bytes  # the rensa.RMinHash as rensa serialises it: cheap to send from the worker processes
    size: int
    day: int | None = None  # days since 1970-01-01 of its date, if it has one

    @property
    def minhash(self):
        m = _rensa().RMinHash(NUM_PERM, SEED)
        m.__setstate__(self.state)
        return m


MAX_WORDS = 3_000  # the opening of a longer text is sketched: copies trim endings, and the work is bounded
_MUL = np.uint64(0x9E3779B97F4A7C15)  # odd 64-bit constants (golden ratio, splitmix64's finaliser)
_MIX1, _MIX2 = np.uint64(0xBF58476D1CE4E5B9), np.uint64(0x94D049BB133111EB)


def _mix(h: np.ndarray) -> np.ndarray:
    """splitmix64's finaliser: a shingle's hash spread over all 64 bits (MinHash permutes it linearly)."""
    h = (h ^ (h >> np.uint64(30))) * _MIX1
    h = (h ^ (h >> np.uint64(27))) * _MIX2
    return h ^ (h >> np.uint64(31))


def _word_hashes(words: list[str]) -> np.ndarray:
    if not words:
        return np.zeros(0, np.uint64)
    return np.asarray(_rensa().RMinHash.hash_token_sets([words])[0], dtype=np.uint64)


def shingle_hashes(tok: Tokens) -> tuple[np.ndarray, np.ndarray]:
    """The word 5-shingles of each article's headline and opening (its first MAX_WORDS words), hashed in
    numpy from the words the term rows were made of (indexer/terms.py: split, lowercased, accents folded,
    punctuation ignored): the hashes of all articles, and the offsets where each article's begin."""
    n = len(tok)
    ends = tok.ends.reshape(n, 2) if n else np.zeros((0, 2), np.int64)
    body_start = np.r_[np.int64(0), ends[:-1, 1]] if n else np.zeros(0, np.int64)
    title_len = ends[:, 1] - ends[:, 0]
    body_len = np.minimum(ends[:, 0] - body_start, np.maximum(0, MAX_WORDS - title_len))
    # each article's words in reading order: its title, then its body's opening
    seg_start = np.column_stack([ends[:, 0], body_start]).ravel()
    seg_len = np.column_stack([title_len, body_len]).ravel()
    total = int(seg_len.sum())
    gather = np.repeat(seg_start - np.r_[np.int64(0), np.cumsum(seg_len)[:-1]], seg_len) + np.arange(total)
    h = _word_hashes(tok.words)[tok.ids[gather]]
    length = title_len + body_len
    start = np.r_[np.int64(0), np.cumsum(length)[:-1]]
    # shingle i of the stream: words i..i+4, kept where all five belong to one article
    m = max(0, total - SHINGLE + 1)
    acc = h[:m].copy()
    for j in range(1, SHINGLE):
        acc = acc * _MUL + h[j:j + m]
    shingle_count = np.maximum(length - SHINGLE + 1, 0)
    keep = np.repeat(start, shingle_count) + (np.arange(int(shingle_count.sum()))
                                              - np.repeat(np.cumsum(shingle_count) - shingle_count, shingle_count))
    out = _mix(acc[keep])
    short = np.flatnonzero((length > 0) & (length < SHINGLE))
    if len(short):  # an article of 1-4 words: its words are its one shingle
        counts = shingle_count.copy()
        counts[short] = 1
        pieces, at = [], 0
        offsets = np.r_[np.int64(0), np.cumsum(shingle_count)]
        for i in short.tolist():
            pieces.append(out[at:offsets[i]])
            one = h[start[i]:start[i] + 1]  # arrays, not scalars: numpy wraps them silently, as hashing wants
            for k in range(start[i] + 1, start[i] + length[i]):
                one = one * _MUL + h[k:k + 1]
            pieces.append(_mix(one))
            at = offsets[i]
        pieces.append(out[at:])
        out, shingle_count = np.concatenate(pieces), counts
    return out, np.r_[np.int64(0), np.cumsum(shingle_count)]


_HEADER: bytes | None = None


def _state_header() -> bytes:
    """rensa's serialised RMinHash is a header then the digest's values as LEB128 varints: the header is read
    from rensa itself, and an object rebuilt from our encoding is checked to equal rensa's own, so a rensa
    that serialises otherwise fails here, loudly, rather than giving wrong sketches."""
    global _HEADER
    if _HEADER is None:
        RMinHash = _rensa().RMinHash
        m = RMinHash(NUM_PERM, SEED)
        m.update(["a b c d e", "b c d e f"])
        state, values = m.__getstate__(), _varints(np.asarray([m.digest()], dtype=np.uint32))[0]
        if not state.endswith(values):
            raise RuntimeError("rensa's RMinHash state format is not the one indexer/copies.py writes")
        _HEADER = state[: len(state) - len(values)]
        check = RMinHash(NUM_PERM, SEED)
        check.__setstate__(_HEADER + values)
        if check.digest() != m.digest():
            raise RuntimeError("rensa's RMinHash state format is not the one indexer/copies.py writes")
    return _HEADER


def _varints(rows: np.ndarray) -> list[bytes]:
    """Each row of unsigned 32-bit values as LEB128 varints (7 bits a byte, low first, high bit: more)."""
    v = rows.astype(np.uint32)
    out = np.empty(v.shape + (5,), dtype=np.uint8)
    present = np.empty(v.shape + (5,), dtype=bool)
    present[..., 0] = True
    for k in range(5):
        more = v >= np.uint32(1 << (7 * (k + 1))) if k < 4 else np.zeros(v.shape, dtype=bool)
        out[..., k] = ((v >> np.uint32(7 * k)) & np.uint32(0x7F)).astype(np.uint8) | (more.view(np.uint8) << 7)
        if k < 4:
            present[..., k + 1] = more
    flat = out[present].tobytes()
    cuts = np.r_[0, np.cumsum(present.sum(axis=(1, 2)))].tolist()
    return [flat[cuts[i]:cuts[i + 1]] for i in range(len(rows))]


def sketches(tok: Tokens, dates: list[datetime | None]) -> list[Sketch]:
    """The sketches of a run of articles from their Tokens (one rensa call for all their MinHashes)."""
    if not len(tok):
        return []
    hashes, offsets = shingle_hashes(tok)
    matrix = _rensa().RMinHash.digest_matrix_from_flat_token_hashes(hashes, offsets.astype(np.uint64), NUM_PERM, SEED)
    digests = np.asarray(matrix.to_rows(), dtype=np.uint32)
    header = _state_header()
    sizes = np.diff(offsets).tolist()
    return [Sketch(header + state, size, _day(date)) for state, size, date in zip(_varints(digests), sizes, dates)]


def sketch(title: str, body: str, date: datetime | None = None) -> Sketch:
    """One article's sketch (`title`: as indexed, "" when it was made up from the body)."""
    return sketches(tokenise([(title, body)]), [date])[0]


def article_sketch(a: Article) -> Sketch:
    return sketch(indexed_title(a), a.body, a.date)


RESKETCH_BATCH = 1_000  # stored articles sketched again at a time (an index written by another format)


def _day(date: datetime | None) -> int | None:
    return int(date.timestamp() // 86400) if date is not None else None


def copies_dir(index_dir: str | Path) -> Path:
    return Path(index_dir) / "copies"


def _chunks(index_dir: str | Path) -> list[Path]:
    return sorted(copies_dir(index_dir).glob("chunk-*.npz"))


def new_group_id(article_id: str, fingerprint: int) -> int:
    """A group id for a founder whose own id hash is still held by the group it left."""
    h = hashlib.blake2b(f"{article_id}\x1f{fingerprint}".encode("utf-8", "surrogatepass"), digest_size=8)
    return int.from_bytes(h.digest(), "big") >> 1


class CopyGroups:
    """The writer's view of the groups: `place` each new or changed article, `flush` before each commit."""

    def __init__(self, index_dir: str | Path, index: tantivy.Index, live: dict[int, int]):
        self.dir = copies_dir(index_dir)
        self.index = index
        self.live = live  # id_hash -> fingerprint of what the index holds (the build's own map, kept current)
        self._lsh = None
        self._minhash: list = []  # by LSH key
        self._size: list[int] = []
        self._group: list[int] = []
        self._day: list[int | None] = []
        self._key: dict[int, int] = {}  # id_hash -> LSH key
        self._members: dict[int, int] = {}  # group -> live members
        self._rows: list[tuple[int, int, int, bool, int, int | None, bytes]] = []
        chunks = _chunks(index_dir)
        self._next = int(chunks[-1].stem.split("-")[1]) + 1 if chunks else 0

    # --- placing -------------------------------------------------------------------------------------
    def place(self, article_id: str, id_hash: int, fingerprint: int, s: Sketch) -> tuple[int, bool]:
        """The group of a new or changed article, and whether it joined an existing one (is a copy)."""
        if self._lsh is None:
            self._load()
        old = self._key.pop(id_hash, None)
        if old is not None:  # an upsert: the old version leaves its group
            self._lsh.remove(old)
            self._members[self._group[old]] -= 1
        best, best_j, minhash = None, 0.0, s.minhash
        for k in sorted(self._lsh.query(minhash)):  # sorted: ties go to the earliest placed, every run
            j = minhash.jaccard(self._minhash[k])
            if j < MIN_JACCARD or j <= best_j:
                continue
            day = self._day[k]
            if (s.day is not None and day is not None and abs(s.day - day) > MAX_DAYS_APART
                    and j < MIN_JACCARD_ANY_DATE):
                continue
            shared = j * (s.size + self._size[k]) / (1 + j)
            if shared >= MIN_CONTAINMENT * max(1, min(s.size, self._size[k])):
                best, best_j = k, j
        if best is not None:
            group, copy = self._group[best], True
        else:
            group = id_hash if not self._members.get(id_hash) else new_group_id(article_id, fingerprint)
            copy = False
        self._insert(id_hash, group, s, minhash)
        self._rows.append((id_hash, fingerprint, group, copy, s.size, s.day, s.state))
        return group, copy

    def forget(self, id_hash: int) -> None:
        """An article deleted from the index (moved to another shard) leaves its group."""
        key = self._key.pop(id_hash, None) if self._lsh is not None else None
        if key is not None:
            self._lsh.remove(key)
            self._members[self._group[key]] -= 1

    def _insert(self, id_hash: int, group: int, s: Sketch, minhash) -> None:
        key = len(self._minhash)
        self._minhash.append(minhash)
        self._size.append(s.size)
        self._day.append(s.day)
        self._group.append(group)
        self._key[id_hash] = key
        self._members[group] = self._members.get(group, 0) + 1
        self._lsh.insert(key, minhash)

    # --- persistence ---------------------------------------------------------------------------------
    def flush(self) -> None:
        """Write the rows placed since the last flush (before the Tantivy commit of their batch)."""
        if not self._rows:
            return
        self.dir.mkdir(parents=True, exist_ok=True)
        width = max(len(r[6]) for r in self._rows)
        states = np.frombuffer(b"".join(r[6].ljust(width, b"\0") for r in self._rows), dtype=np.uint8)
        states = states.reshape(len(self._rows), width)
        path = self.dir / f"chunk-{self._next:06d}.npz"
        tmp = path.with_suffix(".tmp")
        with open(tmp, "wb") as fh:
            np.savez(fh, id_hash=np.array([r[0] for r in self._rows], dtype=np.int64),
                     fingerprint=np.array([r[1] for r in self._rows], dtype=np.int64),
                     group=np.array([r[2] for r in self._rows], dtype=np.int64),
                     copy=np.array([r[3] for r in self._rows], dtype=bool),
                     size=np.array([r[4] for r in self._rows], dtype=np.int32),
                     day=np.array([-(1 << 31) if r[5] is None else r[5] for r in self._rows], dtype=np.int32),
                     state_len=np.array([len(r[6]) for r in self._rows], dtype=np.int32),
                     state=states, format=np.frombuffer(json.dumps(FORMAT).encode(), dtype=np.uint8))
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
        self._next += 1
        self._rows = []

    def _load(self) -> None:
        """The LSH index of every live article: from the chunks where they match, else from stored text."""
        self._lsh = _rensa().RMinHashLSH(MIN_JACCARD, NUM_PERM, BANDS)
        for stale in self.dir.glob("*.tmp"):
            stale.unlink()
        picked: dict[int, tuple] = {}
        for ci, path in enumerate(_chunks(self.dir.parent)):
            try:
                with np.load(path) as z:
                    if json.loads(bytes(z["format"]).decode()) != FORMAT:
                        continue
                    c = {k: z[k] for k in z.files}
            except (OSError, ValueError, KeyError):
                continue  # unreadable: those articles are sketched again below
            for i, (h, fp) in enumerate(zip(c["id_hash"].tolist(), c["fingerprint"].tolist())):
                if self.live.get(h) == fp:
                    day = int(c["day"][i])
                    picked[h] = (ci, i, int(c["group"][i]), bytes(c["state"][i, : c["state_len"][i]]),
                                 int(c["size"][i]), None if day == -(1 << 31) else day)
        # in the order they were placed, so that ties between candidates go the way they went then
        for h, (_, _, group, state, size, day) in sorted(picked.items(), key=lambda kv: kv[1][:2]):
            s = Sketch(state, size, day)
            try:
                minhash = s.minhash
            except Exception:
                continue  # another rensa's state: sketched again below
            self._insert(h, group, s, minhash)
        missing = set(self.live) - set(self._key)
        if missing:
            self._sketch_from_index(missing)

    def _sketch_from_index(self, missing: set[int]) -> None:
        """Sketch again the live articles with no usable row, from the text the index stores; their
        groups are the ones the index holds."""
        self.index.reload()
        searcher = self.index.searcher()
        if not searcher.num_docs:
            return
        addrs = [a for _, a in searcher.search(tantivy.Query.all_query(), limit=searcher.num_docs).hits]
        hashes = searcher.fast_field_values("id_hash", addrs)
        groups = searcher.fast_field_values("group", addrs)
        todo = [(addr, h, int(group)) for addr, h, group in zip(addrs, hashes, groups)
                if h in missing and h not in self._key]
        for lo in range(0, len(todo), RESKETCH_BATCH):  # in batches: one rensa call each, bounded memory
            batch = todo[lo:lo + RESKETCH_BATCH]
            stored = [Article.from_stored(searcher.doc(addr).to_dict()) for addr, _, _ in batch]
            tokens = tokenise([(indexed_title(a), a.body) for a in stored])
            for (_, h, group), s in zip(batch, sketches(tokens, [a.date for a in stored])):
                self._insert(h, group, s, s.minhash)
                self._rows.append((h, self.live[h], group, False, s.size, s.day, s.state))


def compact(index_dir: str | Path, live: dict[int, int]) -> None:
    """Drop the chunks none of whose rows the index still holds (superseded by upserts, or rolled back)."""
    for path in _chunks(index_dir)[:-1]:  # the newest chunk is never dropped: it may be mid-use
        try:
            with np.load(path) as z:
                rows = zip(z["id_hash"].tolist(), z["fingerprint"].tolist())
                dead = not any(live.get(h) == fp for h, fp in rows)
        except (OSError, ValueError, KeyError):
            dead = True
        if dead:
            path.unlink()
