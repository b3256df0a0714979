"""Shards served by Ray actors: each actor holds one shard open (an Archive) on some node of the cluster.

`RayShards` has the interface of query/sharded.py's LocalShards (`call`, `reload`, `close`), so a
ShardedArchive fans out to actors exactly as it does to local threads. An actor that dies (its process
killed, its node lost) is restarted by Ray (`max_restarts`); a request made while it is down gets no
answer from it, and the ShardedArchive says which shards are missing instead of failing.
"""
from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from newssearch.indexer.distributed import connect, ray_module
from newssearch.indexer.shards import Manifest

ANSWER_TIMEOUT_S = 30.0


class _ShardActor:
    """Holds one shard open; runs the functions it is sent on it (the ShardedArchive's fan-out steps)."""

    def __init__(self, shard_dir: str):
        from newssearch.query.sharded_fold import ShardArchive

        self.archive = ShardArchive.open(shard_dir)

    def run(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        return fn(self.archive, *args, **kwargs)

    def reload(self) -> None:
        self.archive.reload()

    def pid(self) -> int:
        import os

        return os.getpid()


class RayShards:
    """One actor per shard; requests fan out to them and are gathered with a timeout."""

    def __init__(self, root: Path, manifest: Manifest, address: str = "local", max_restarts: int = -1,
                 timeout_s: float = ANSWER_TIMEOUT_S):
        self.ray = ray_module()
        self.started = connect(address)
        self.timeout_s = timeout_s
        self._cls = self.ray.remote(num_cpus=0, max_restarts=max_restarts, max_task_retries=0)(_ShardActor)
        self.actors: dict[str, Any] = {}
        self.open(root, manifest)

    def open(self, root: Path, manifest: Manifest) -> None:
        for s in manifest.shards:
            if s.name not in self.actors:
                self.actors[s.name] = self._cls.remote(str(manifest.shard_dir(root, s)))

    def reload(self, root: Path, manifest: Manifest) -> None:
        self.open(root, manifest)
        self._gather({n: a.reload.remote() for n, a in self.actors.items()})

    def call(self, names: list[str], fn: Callable[..., Any], args: dict[str, tuple] | None = None,
             **kwargs: Any) -> dict[str, Any]:
        refs = {n: self.actors[n].run.remote(fn, *((args or {}).get(n, ())), **kwargs)
                for n in names if n in self.actors}
        out = self._gather(refs)
        out.update({n: RuntimeError("no actor for this shard") for n in names if n not in self.actors})
        return out

    def _gather(self, refs: dict[str, Any]) -> dict[str, Any]:
        from newssearch.query.parse import QueryError

        ray = self.ray
        ready, _ = ray.wait(list(refs.values()), num_returns=len(refs), timeout=self.timeout_s)
        ready_set = set(ready)
        out: dict[str, Any] = {}
        for n, r in refs.items():
            if r not in ready_set:
                out[n] = TimeoutError(f"shard {n} did not answer within {self.timeout_s:.0f} s")
                continue
            try:
                out[n] = ray.get(r)
            except QueryError:
                raise
            except Exception as exc:  # RayActorError (died), RayTaskError wrapping the shard's own error
                cause = getattr(exc, "cause", None)
                if isinstance(cause, QueryError):
                    raise cause from None
                out[n] = exc
        return out

    def close(self) -> None:
        for a in self.actors.values():
            self.ray.kill(a)
        self.actors.clear()
        if self.started:
            self.ray.shutdown()
            self.started = False
