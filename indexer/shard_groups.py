"""Near-duplicate groups across the shards of a sharded archive: one placement for the whole archive.

One index places each new article among every article it holds (indexer/copies.py). A sharded build does
the same for the archive, between parsing and writing: one step loads the sketches of every shard's live
articles (each shard's `copies/` chunks, matched to what the shard holds as CopyGroups matches them) into
one LSH index, places this run's new and changed articles in input order (as one index's writer meets
them), and hands each shard writer the group of each of its articles (`staging/groups/SHARD.npz`). So the
copies of a story in two months share a group, and a sharded archive folds like one index.

It also writes, per shard, the groups that have members in other shards (`cross-groups.npy` in the shard's
directory): search counts a story spread over shards once (query/sharded.py). Before the shards are written
the file becomes the union of its old and new contents, after they are written exactly the new ones: a
killed build leaves at worst extra groups in it, which cost a lookup and change no count.

The step is serial (one LSH over the archive). It runs only when a run has something new to place, and
costs what one index's placement costs (the sketches come from the parse step).
"""
from __future__ import annotations

import base64
import json
import os
from collections import defaultdict
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np

from .copies import BANDS, MIN_JACCARD, NUM_PERM, CopyGroups, Sketch

CROSS_GROUPS = "cross-groups.npy"
NO_DAY = -(1 << 31)


# --- sketches travel from the parse step: in the staging lines, and per part for the placement -------------
def encode_sketch(s: Sketch) -> dict:
    return {"s": base64.b64encode(s.state).decode("ascii"), "z": s.size}


def decode_sketch(d: dict, day: int | None) -> Sketch | None:
    return Sketch(base64.b64decode(d["s"]), int(d["z"]), day) if "s" in d else None


def sketch_file(staging: Path, number: int) -> Path:
    return staging / "sketches" / f"{number:07d}.npz"


def write_part_sketches(staging: Path, number: int, rows: list[tuple[str, int, int, Sketch]]) -> None:
    """One part's (id, id hash, fingerprint, sketch) rows in input order, replaced whole (a retried task
    writes the same file)."""
    path = sketch_file(staging, number)
    path.parent.mkdir(parents=True, exist_ok=True)
    width = max((len(r[3].state) for r in rows), default=0)
    states = np.frombuffer(b"".join(r[3].state.ljust(width, b"\0") for r in rows), dtype=np.uint8)
    tmp = path.with_suffix(f".{os.getpid()}.tmp")
    with open(tmp, "wb") as fh:
        np.savez(fh, ids=np.frombuffer(json.dumps([r[0] for r in rows]).encode("utf-8", "surrogatepass"), np.uint8),
                 id_hash=np.array([r[1] for r in rows], np.int64), fingerprint=np.array([r[2] for r in rows], np.int64),
                 size=np.array([r[3].size for r in rows], np.int32),
                 day=np.array([NO_DAY if r[3].day is None else r[3].day for r in rows], np.int32),
                 state_len=np.array([len(r[3].state) for r in rows], np.int32), state=states.reshape(len(rows), width))
    os.replace(tmp, path)


def read_part_sketches(path: Path) -> Iterator[tuple[str, int, int, Sketch]]:
    if not path.exists():  # a part with no article
        return
    with np.load(path) as z:
        ids = json.loads(bytes(z["ids"]).decode("utf-8", "surrogatepass"))
        c = {k: z[k] for k in ("id_hash", "fingerprint", "size", "day", "state_len", "state")}
    for i, aid in enumerate(ids):
        day = int(c["day"][i])
        yield aid, int(c["id_hash"][i]), int(c["fingerprint"][i]), Sketch(
            bytes(c["state"][i, : c["state_len"][i]]), int(c["size"][i]), None if day == NO_DAY else day)


# --- the archive-wide placement ------------------------------------------------------------------------
class ArchiveGroups(CopyGroups):
    """CopyGroups over every shard at once: the live articles of all shards in one LSH index. Used only to
    place; nothing is written from here (each shard writer stores its rows, AssignedGroups)."""

    def __init__(self, shards: list[tuple[Path, dict[int, int]]]):
        self.shards = shards  # (shard dir, id_hash -> fingerprint it holds)
        live: dict[int, int] = {}
        for _, held in shards:
            live.update(held)
        super().__init__(shards[0][0] if shards else Path("."), None, live)

    def _load(self) -> None:
        """Each shard's live rows (as that shard's CopyGroups finds them, sketching again what has no row),
        inserted shard by shard, each in its placing order."""
        from rensa import RMinHashLSH

        from newssearch.indexer.schema import open_index

        self._lsh = RMinHashLSH(MIN_JACCARD, NUM_PERM, BANDS)
        for shard_dir, held in self.shards:
            if not held:
                continue
            one = CopyGroups(shard_dir, open_index(shard_dir), dict(held))
            one._load()
            for h, key in sorted(one._key.items(), key=lambda kv: kv[1]):
                self._insert(h, one._group[key], Sketch(b"", one._size[key], one._day[key]), one._minhash[key])

    def group_of(self, h: int) -> int | None:
        key = self._key.get(h)
        return None if key is None else self._group[key]


class AssignedGroups(CopyGroups):
    """A shard writer's groups: the ones the archive-wide placement chose (id_hash -> (fingerprint, group,
    copy)); stored with the shard's sketch rows as CopyGroups stores its own."""

    def __init__(self, index_dir: str | Path, index, live: dict[int, int], assigned: dict[int, tuple[int, int, bool]]):
        super().__init__(index_dir, index, live)
        self.assigned = assigned

    def place(self, article_id: str, id_hash: int, fingerprint: int, s: Sketch) -> tuple[int, bool]:
        got = self.assigned.get(id_hash)
        if got is None or got[0] != fingerprint:  # not placed by this run's placement: place it here
            return super().place(article_id, id_hash, fingerprint, s)
        _, group, copy = got
        self._rows.append((id_hash, fingerprint, group, copy, s.size, s.day, s.state))
        return group, copy


def groups_file(staging: Path, shard: str) -> Path:
    return staging / "groups" / f"{shard}.npz"


def load_assigned(path: str | Path | None) -> dict[int, tuple[int, int, bool]]:
    if not path or not Path(path).exists():
        return {}
    with np.load(path) as z:
        return {h: (fp, g, bool(c)) for h, fp, g, c in zip(z["id_hash"].tolist(), z["fingerprint"].tolist(),
                                                            z["group"].tolist(), z["copy"].tolist())}


def place_archive(staging: Path, numbers: list[int], shards: dict[str, tuple[Path, dict[int, int]]],
                  target: Callable[[int], str | None]) -> tuple[dict[str, Path], dict[str, np.ndarray]]:
    """Place this run's new and changed articles (parts `numbers`, in order) among every shard's live
    articles. `shards`: name -> (directory, id_hash -> fingerprint it holds); `target(h)`: the shard an id
    ends up in. Returns the assignment file of each shard that receives articles, and every shard's
    cross-shard groups after the run. Nothing is loaded when nothing is new."""
    groups = ArchiveGroups([v for v in shards.values()])
    known = dict(groups.live)
    seen: set[int] = set()
    assigned: dict[str, dict[int, tuple[int, int, bool]]] = defaultdict(dict)
    for number in numbers:
        for aid, h, fp, s in read_part_sketches(sketch_file(staging, number)):
            old = known.get(h)
            if h in seen:  # as Upserter.add_all: the later version of an id met again wins
                if old == fp:
                    continue
            else:
                seen.add(h)
                if old == fp:
                    continue
            group, copy = groups.place(aid, h, fp, s)
            known[h] = fp
            name = target(h)
            if name is not None:
                assigned[name][h] = (fp, group, copy)
    files: dict[str, Path] = {}
    for name, rows in assigned.items():
        path = groups_file(staging, name)
        path.parent.mkdir(parents=True, exist_ok=True)
        items = sorted(rows.items())
        np.savez(path, id_hash=np.array([h for h, _ in items], np.int64),
                 fingerprint=np.array([r[0] for _, r in items], np.int64),
                 group=np.array([r[1] for _, r in items], np.int64), copy=np.array([r[2] for _, r in items], bool))
        files[name] = path
    if not assigned:
        return files, {}
    # where each live article is after the run: its new shard if placed now, else the one holding it
    home: dict[int, str] = {}
    for name, (_, held) in shards.items():
        for h in held:
            home[h] = name
    for name, rows in assigned.items():
        for h in rows:
            home[h] = name
    spread: dict[int, set[str]] = defaultdict(set)
    for h, name in home.items():
        g = groups.group_of(h)
        if g is not None:
            spread[g].add(name)
    cross: dict[str, list[int]] = defaultdict(list)
    for g, names in spread.items():
        if len(names) > 1:
            for name in names:
                cross[name].append(g)
    return files, {name: np.array(sorted(cross.get(name, [])), np.int64) for name in shards}


def read_cross_groups(shard_dir: str | Path) -> np.ndarray:
    path = Path(shard_dir) / CROSS_GROUPS
    try:
        return np.load(path)
    except (OSError, ValueError):
        return np.zeros(0, np.int64)


def write_cross_groups(shard_dir: str | Path, groups: np.ndarray) -> None:
    path = Path(shard_dir) / CROSS_GROUPS
    if not len(groups) and not path.exists():
        return
    tmp = path.with_name(f".{CROSS_GROUPS}.{os.getpid()}.tmp")
    with open(tmp, "wb") as fh:
        np.save(fh, np.asarray(groups, np.int64))
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)
