"""Running a sharded build (and related posts over shards) as Ray tasks across a cluster.

The steps are those of indexer/shards.py, the same functions, each called as a Ray task instead of in a
local process: parsing a file (or part of one) into staging files, writing a shard, deleting moved
articles, scoring every article against one shard. The archive directory must be one every node sees (a
shared file system); tasks read and write it there, and pass back only small summaries.

A task whose worker dies (killed, out of memory, its node lost) is run again by Ray (`max_retries`); each
task is safe to repeat: staging files are replaced whole, and a shard's writer upserts, so a repeated
write neither loses nor doubles an article.

Only this module and query/ray_shards.py import ray; it is an optional extra (`pip install -e '.[cluster]'`).
"""
from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

MAX_RETRIES = 3


def ray_module():
    try:
        import ray
    except ImportError:
        raise RuntimeError("--cluster needs Ray: pip install 'newssearch[cluster]'") from None
    return ray


def connect(address: str = "local", workers: int | None = None) -> bool:
    """Join (or, for `local`, start) a Ray cluster unless this process already has; True if it did."""
    ray = ray_module()
    if ray.is_initialized():
        return False
    if address == "local":
        ray.init(num_cpus=workers or os.cpu_count() or 1, include_dashboard=False, log_to_driver=False,
                 configure_logging=False)
    else:  # "auto" (a cluster started with `ray start` on this host) or "ray://host:10001"
        ray.init(address=address, log_to_driver=False, configure_logging=False)
    return True


def task_cpus() -> int | None:
    """The CPUs Ray gave the task running in this process (None outside a Ray worker): a task that
    threads (the related-posts kernel) uses those, not every core of the node, so that tasks sharing a
    node do not oversubscribe it."""
    try:
        import ray
    except ImportError:
        return None
    if not ray.is_initialized() or ray.get_runtime_context().worker.mode != ray.WORKER_MODE:
        return None
    cpus = ray.get_runtime_context().get_assigned_resources().get("CPU")
    return max(1, int(cpus)) if cpus else None


class RayRunner:
    """Runs a build's tasks as Ray tasks, each retried up to `max_retries` times if its worker dies."""

    via = "ray"

    def __init__(self, address: str = "local", workers: int | None = None, max_retries: int = MAX_RETRIES,
                 env_vars: dict[str, str] | None = None):
        self.ray = ray_module()
        self.started = connect(address, workers)
        self.max_retries = max_retries
        self.options: dict[str, Any] = {"max_retries": max_retries}
        if env_vars:
            self.options["runtime_env"] = {"env_vars": env_vars}
        self._remote: dict[Callable, Any] = {}

    def parallelism(self) -> int:
        """The tasks the cluster runs at once: its CPUs."""
        return max(1, int(self.ray.cluster_resources().get("CPU", 1)))

    def map(self, fn: Callable, args: list[tuple], done: Callable[[Any], None] | None = None,
            shared: tuple[int, ...] = ()) -> list[Any]:
        """fn(*a) as a Ray task for each a; `done(result)` as each finishes; results in the order of args.
        Arguments at the positions in `shared` that are the same object in every call are put in the
        object store once."""
        ray = self.ray
        if not args:
            return []
        remote = self._remote.get(fn)
        if remote is None:
            remote = self._remote[fn] = ray.remote(fn).options(**self.options)
        refs_of: dict[int, Any] = {}

        def ref(i: int, value: Any) -> Any:
            if i not in shared:
                return value
            key = id(value)
            if key not in refs_of:
                refs_of[key] = ray.put(value)
            return refs_of[key]

        pending = {remote.remote(*(ref(i, v) for i, v in enumerate(a))): n for n, a in enumerate(args)}
        results: list[Any] = [None] * len(args)
        while pending:
            ready, _ = ray.wait(list(pending), num_returns=1)
            for r in ready:
                n = pending.pop(r)
                results[n] = ray.get(r)
                if done:
                    done(results[n])
        return results

    def close(self) -> None:
        if self.started:
            self.ray.shutdown()
            self.started = False
