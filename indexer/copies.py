"""Near-duplicate groups: articles that are the same story share a group id, set at index time.

Syndication copies a wire story with another site's boilerplate, an edited headline, a trimmed ending.
Each article is sketched by MinHash over its word 5-shingles (title and body, case-folded) with rensa
(a maintained Rust MinHash/LSH library); its LSH index finds the indexed articles that could be copies,
and a candidate joins the article's group when both

- the estimated Jaccard similarity of the shingle sets is at least MIN_JACCARD, and
- the estimated containment (shared shingles over the smaller set) is at least MIN_CONTAINMENT,

so a copy cut to half its length still joins, while two formulaic items (dividend notices, Fed
operations) that share a template but not their facts do not. An article joins the group of its most
similar match; with none it founds a group (its id hash as group id).

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
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import tantivy

NUM_PERM = 120
BANDS = 40  # 40 bands of 3 rows: a pair with Jaccard 0.4 is a candidate with p=0.93, 0.5 with p=0.995
SEED = 18
SHINGLE = 5  # words
MIN_JACCARD = 0.5
MIN_CONTAINMENT = 0.8
FORMAT = {"library": "rensa", "algorithm": "RMinHash", "num_perm": NUM_PERM, "seed": SEED, "shingle": SHINGLE}

_WORD = re.compile(r"\w+")


@dataclass
class Sketch:
    """What the worker computes for one article: its MinHash and how many distinct shingles it has."""

    minhash: object  # rensa.RMinHash (picklable: it travels from the worker processes)
    size: int


def shingles(title: str, body: str) -> list[str]:
    """Word 5-shingles of the headline and text, case-folded, punctuation ignored (sites restyle quotes)."""
    words = _WORD.findall(f"{title}\n{body}".casefold())
    if len(words) < SHINGLE:
        return [" ".join(words)] if words else []
    return list(map(" ".join, zip(*(words[i:] for i in range(SHINGLE)))))


def sketch(title: str, body: str) -> Sketch:
    from rensa import RMinHash

    grams = shingles(title, body)
    m = RMinHash(NUM_PERM, SEED)
    m.update(grams)
    return Sketch(m, len(set(grams)))


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
        self._key: dict[int, int] = {}  # id_hash -> LSH key
        self._members: dict[int, int] = {}  # group -> live members
        self._rows: list[tuple[int, int, int, bool, int, bytes]] = []
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
        best, best_j = None, 0.0
        for k in self._lsh.query(s.minhash):
            j = s.minhash.jaccard(self._minhash[k])
            if j < MIN_JACCARD or j <= best_j:
                continue
            shared = j * (s.size + self._size[k]) / (1 + j)
            if shared >= MIN_CONTAINMENT * max(1, min(s.size, self._size[k])):
                best, best_j = k, j
        if best is not None:
            group, copy = self._group[best], True
        else:
            group = id_hash if not self._members.get(id_hash) else new_group_id(article_id, fingerprint)
            copy = False
        self._insert(id_hash, group, s.minhash, s.size)
        self._rows.append((id_hash, fingerprint, group, copy, s.size, s.minhash.__getstate__()))
        return group, copy

    def _insert(self, id_hash: int, group: int, minhash, size: int) -> None:
        key = len(self._minhash)
        self._minhash.append(minhash)
        self._size.append(size)
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
        width = max(len(r[5]) for r in self._rows)
        states = np.zeros((len(self._rows), width), dtype=np.uint8)
        for i, r in enumerate(self._rows):
            states[i, : len(r[5])] = np.frombuffer(r[5], dtype=np.uint8)
        path = self.dir / f"chunk-{self._next:06d}.npz"
        tmp = path.with_suffix(".tmp")
        with open(tmp, "wb") as fh:
            np.savez(fh, id_hash=np.array([r[0] for r in self._rows], dtype=np.int64),
                     fingerprint=np.array([r[1] for r in self._rows], dtype=np.int64),
                     group=np.array([r[2] for r in self._rows], dtype=np.int64),
                     copy=np.array([r[3] for r in self._rows], dtype=bool),
                     size=np.array([r[4] for r in self._rows], dtype=np.int32),
                     state_len=np.array([len(r[5]) for r in self._rows], dtype=np.int32),
                     state=states, format=np.frombuffer(json.dumps(FORMAT).encode(), dtype=np.uint8))
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
        self._next += 1
        self._rows = []

    def _load(self) -> None:
        """The LSH index of every live article: from the chunks where they match, else from stored text."""
        from rensa import RMinHash, RMinHashLSH

        self._lsh = RMinHashLSH(MIN_JACCARD, NUM_PERM, BANDS)
        for stale in self.dir.glob("*.tmp"):
            stale.unlink()
        picked: dict[int, tuple] = {}
        for path in _chunks(self.dir.parent):
            try:
                with np.load(path) as z:
                    if json.loads(bytes(z["format"]).decode()) != FORMAT:
                        continue
                    c = {k: z[k] for k in z.files}
            except (OSError, ValueError, KeyError):
                continue  # unreadable: those articles are sketched again below
            for i, (h, fp) in enumerate(zip(c["id_hash"].tolist(), c["fingerprint"].tolist())):
                if self.live.get(h) == fp:
                    picked[h] = (c["group"][i], bytes(c["state"][i, : c["state_len"][i]]), int(c["size"][i]))
        for h, (group, state, size) in picked.items():
            m = RMinHash(NUM_PERM, SEED)
            try:
                m.__setstate__(state)
            except Exception:
                continue
            self._insert(h, int(group), m, size)
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
        for addr, h, group in zip(addrs, hashes, groups):
            if h in missing and h not in self._key:
                doc = searcher.doc(addr).to_dict()
                s = sketch((doc.get("title") or [""])[0], (doc.get("body") or [""])[0])
                self._insert(h, int(group), s.minhash, s.size)
                self._rows.append((h, self.live[h], int(group), False, s.size, s.minhash.__getstate__()))


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
