"""Results (dataclass trees) as plain dicts and lists, ready for JSON."""
from __future__ import annotations

from typing import Any


def plain(value: Any) -> Any:
    """`dataclasses.asdict` without its deep copies of every value, several times faster on a search result
    (it runs on every answer the server gives). Lists and dicts inside are shared, not copied."""
    if hasattr(value, "__dataclass_fields__"):
        return {k: plain(v) for k, v in vars(value).items()}
    if isinstance(value, list):
        return [plain(v) for v in value]
    return value
