"""The errors newssearch raises: classes with fields, so callers (the CLI, the HTTP server, your code) act on
what went wrong without reading messages. `str(error)` is the message for people.

    NewssearchError
    ├── IndexUnusable        an index directory cannot be used (.path): written by another schema version, …
    │   ├── IndexNotFound    no index there
    │   ├── IndexBusy        another process is writing to it
    │   └── DiskFull         writing it failed for want of space (what was committed is kept)
    ├── QueryError           bad search input (.parameter: "q", "limit", "from", …); also a ValueError
    └── ArticleNotFound      no article with that id (.article_id); also a KeyError
"""
from __future__ import annotations

from pathlib import Path


class NewssearchError(Exception):
    """Base of every error newssearch raises on purpose."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


class IndexUnusable(NewssearchError):
    """The index directory at `path` cannot be used; the message says why and what to do."""

    def __init__(self, path: str | Path, message: str):
        super().__init__(message)
        self.path = str(path)


class IndexNotFound(IndexUnusable):
    """No newssearch index at `path`."""


class IndexBusy(IndexUnusable):
    """Another process is writing to the index at `path`."""


class DiskFull(IndexUnusable):
    """Writing the index at `path` failed because its disk is full; what was committed before is intact."""


class QueryError(NewssearchError, ValueError):
    """Bad search input: `parameter` names the input ("q", "limit", "from", "category", …), `message` says
    what is wrong with it. str() reads "parameter: message"."""

    def __init__(self, parameter: str, message: str):
        super().__init__(message)
        self.parameter = parameter

    def __str__(self) -> str:
        return f"{self.parameter}: {self.message}"


class ArticleNotFound(NewssearchError, KeyError):
    """No article with id `article_id` in the archive."""

    def __init__(self, article_id: str):
        super().__init__(f"no article with id {article_id!r}")
        self.article_id = article_id


__all__ = ["NewssearchError", "IndexUnusable", "IndexNotFound", "IndexBusy", "DiskFull", "QueryError",
           "ArticleNotFound"]
