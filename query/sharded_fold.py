"""Folding near-duplicates over the shards of a sharded archive, as one index folds them (query/fold.py).

The groups are archive-wide (indexer/shard_groups.py): the copies of a story in two shards share its group.
Each shard folds its own matches with query/fold.py and returns its first offset+limit groups, each hit
with its group; the merge keeps each group's best hit (ties to the lowest id hash, as fold.py breaks
them) and cuts the page from the merged folded list. That page is exact: a group among the archive's first
N is among the first N of the shard holding its best hit, since every group ahead of it there is ahead of
it in the archive too.

What a shard cannot see is the rest of a story that spans shards. Each shard knows the groups it shares
with other shards (`cross-groups.npy`, written by the build) and returns, for the matching ones, their
matching members (id hash, score): the story is then counted once in `stories` (the shards' own counts
summed, less one for every further shard a shared story matches in), and a shown story's `copies` and
`copy_ids` cover every shard.
"""
from __future__ import annotations

import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import tantivy

from newssearch.indexer.schema import open_index
from newssearch.indexer.shard_groups import CROSS_GROUPS, read_cross_groups

from .archive import Archive, Hit, SearchResult
from .fold import MAX_COPY_IDS

MAX_SHARED_MEMBERS = 10_000  # matching members of the stories a shard shares with others, read per search


@dataclass
class FoldInfo:
    """What a shard's folded search tells the merge beyond its SearchResult."""

    groups: list[int] = field(default_factory=list)  # per hit: its group
    hashes: list[int] = field(default_factory=list)  # per hit: its id hash (ties between copies)
    shared: dict[int, list[tuple[int, float]]] = field(default_factory=dict)  # shared group -> matching (id hash, score)


class ShardArchive(Archive):
    """One shard, opened: an Archive that can also say, for a folded search, its hits' groups and the
    matching members of the groups it shares with other shards."""

    def __init__(self, index: tantivy.Index, path: Path):
        super().__init__(index, path)
        self._local = threading.local()
        self._cross: tuple[float, list[int]] | None = None

    @classmethod
    def open(cls, path: str | Path) -> "ShardArchive":
        return cls(open_index(path), Path(path))

    def cross_groups(self) -> list[int]:
        """The groups this shard shares with others (read again when the build rewrites the file)."""
        try:
            mtime = (self.path / CROSS_GROUPS).stat().st_mtime_ns
        except OSError:
            mtime = 0
        if self._cross is None or self._cross[0] != mtime:
            self._cross = (mtime, read_cross_groups(self.path).tolist() if mtime else [])
        return self._cross[1]

    def search_folded(self, text: str, **kwargs: Any) -> tuple[SearchResult, FoldInfo]:
        """Archive.search with fold=True, and the FoldInfo of the hits it returns."""
        self._local.info = FoldInfo()
        self._local.want = True
        try:
            res = self.search(text, fold=True, **kwargs)
            return res, self._local.info
        finally:
            self._local.want = False

    def _page(self, searcher, query, sort, limit, offset, half_life, fold, unscored=None):
        got = super()._page(searcher, query, sort, limit, offset, half_life, fold, unscored)
        if fold and getattr(self._local, "want", False):  # the last query run is the one answered
            hits = got[0]
            addrs = [a for _, a in hits]
            info = FoldInfo()
            if addrs:
                info.groups = searcher.fast_field_values("group", addrs)
                info.hashes = searcher.fast_field_values("id_hash", addrs)
            info.shared = self._shared_matches(searcher, query)
            self._local.info = info
        return got

    def _shared_matches(self, searcher: tantivy.Searcher, query: tantivy.Query) -> dict[int, list[tuple[int, float]]]:
        cross = self.cross_groups()
        if not cross:
            return {}
        both = tantivy.Query.boolean_query([(tantivy.Occur.Must, query),
                                            (tantivy.Occur.Must, tantivy.Query.term_set_query(self.schema, "group", cross))])
        hits = searcher.search(both, limit=MAX_SHARED_MEMBERS).hits
        out: dict[int, list[tuple[int, float]]] = {}
        if hits:
            addrs = [a for _, a in hits]
            for (score, _), g, h in zip(hits, searcher.fast_field_values("group", addrs),
                                        searcher.fast_field_values("id_hash", addrs)):
                out.setdefault(g, []).append((h, float(score)))
        return out


def ids_of(archive: Archive, hashes: list[int]) -> dict[int, str]:
    """id hash -> article id, for those of `hashes` this shard holds."""
    searcher = archive.searcher()
    res = searcher.search(tantivy.Query.term_set_query(archive.schema, "id_hash", hashes), limit=max(1, len(hashes)))
    addrs = [a for _, a in res.hits]
    if not addrs:
        return {}
    return {h: searcher.doc(a).to_dict()["id"][0] for h, a in zip(searcher.fast_field_values("id_hash", addrs), addrs)}


@dataclass
class _Entry:
    key: Any
    hit: Hit
    group: int
    hash: int


def merge_folded(per_shard: list[tuple[str, list[tuple[Any, Hit]], FoldInfo, int]], offset: int, limit: int,
                 lookup_ids) -> tuple[list[Hit], int]:
    """The folded page [offset, offset+limit) and the archive's story count.

    `per_shard`: (shard, [(sort key, hit)] in the shard's folded order, its FoldInfo, its story count), in
    shard order; `lookup_ids({shard: [id hash]})` -> {id hash: id} for copies that are no hit of any shard.
    """
    entries: list[tuple[tuple, _Entry]] = []
    for order, (_, hits, info, _) in enumerate(per_shard):
        for pos, ((key, hit), g, h) in enumerate(zip(hits, info.groups, info.hashes)):
            entries.append(((key, h, order, pos), _Entry(key, hit, g, h)))  # ties by id hash (query/ties.py)
    entries.sort(key=lambda e: e[0])
    best: dict[int, _Entry] = {}
    for _, e in entries:
        b = best.get(e.group)
        if b is None:
            best[e.group] = e
        elif e.key == b.key and e.hash < b.hash:  # tied copies: the lowest id hash, as fold.py
            best[e.group] = e
    # shared stories: every shard's matching members, and how often each was counted
    members: dict[int, list[tuple[float, int, str]]] = {}
    stories = sum(s for *_, s in per_shard)
    for name, _, info, _ in per_shard:
        for g, rows in info.shared.items():
            if g in members:
                stories -= 1
            members.setdefault(g, []).extend((-score, h, name) for h, score in rows)
    shown = list(best.values())[offset:offset + limit]
    known = {e.hash: e.hit.id for _, e in entries}
    wanted: dict[str, list[int]] = {}
    picked: dict[int, list[tuple[float, int, str]]] = {}
    for e in shown:
        rows = members.get(e.group)
        if rows is None or len({name for *_, name in rows}) < 2:
            continue  # all in one shard: that shard's fold counted them
        others = sorted(r for r in rows if r[1] != e.hash)
        picked[e.group] = others
        for _, h, name in others[:MAX_COPY_IDS]:
            if h not in known:
                wanted.setdefault(name, []).append(h)
    if wanted:
        known.update(lookup_ids(wanted))
    page = []
    for e in shown:
        hit = e.hit
        if e.group in picked:
            others = picked[e.group]
            hit.copies = len(others)
            hit.copy_ids = [known[h] for _, h, _ in others[:MAX_COPY_IDS] if h in known]
        page.append(hit)
    return page, stories
