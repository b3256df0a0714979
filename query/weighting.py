"""Per-term ranking weights: the hook a sharded archive uses to rank with archive-wide statistics.

Tantivy scores each term (or phrase) of a query as idf × tf-part, with the idf from the index searched.
A shard's idf is not the archive's: a word rare in one year's shard looks important there. As BM25's
per-term part is linear in its idf, multiplying each term's clause by global_idf / shard_idf gives the
score one index over the whole archive would (up to the average field length, which stays the shard's).

`TermWeights` is that hook: given a field and the analysed terms of one query leaf (a word, or the words
of a phrase, whose idf Tantivy sums), it returns the factor for that leaf's clause. `weighted_text`
applies it to today's query text, rewriting each scored leaf as a boosted one, so the lenient parser
builds the same query with the boosts in it; a query builder that builds Tantivy queries itself would
wrap each leaf clause in `Query.boost_query(clause, weights(field, terms))` instead.
"""
from __future__ import annotations

import math
import re
from collections.abc import Callable, Sequence

from newssearch.indexer.schema import DEFAULT_FIELDS

TermWeights = Callable[[str, Sequence[str]], float]
"""(field, the leaf's analysed terms) -> the factor its BM25 part is multiplied by (1.0: unchanged)."""

# A leaf: optional +/-, optional field:, then a "phrase" or a bare word, as a whole token (nothing glued
# after it but a boost, slop or prefix star, which leave the leaf as the user wrote it).
_LEAF = re.compile(r'(?<![^\s(])(?P<pre>[+-]?)(?:(?P<field>[A-Za-z_]\w*):)?(?P<val>"[^"]*"|[^\s()"^~*:]+)'
                   r'(?P<post>[\^~*][^\s()]*)?(?=$|[\s)])')
_OPERATORS = {"AND", "OR", "NOT"}


def idf(doc_freq: int, docs: int) -> float:
    """Tantivy's BM25 idf."""
    return math.log1p((docs - doc_freq + 0.5) / (doc_freq + 0.5))


def weighted_text(text: str, weights: TermWeights, analyse: Callable[[str], list[str]],
                  fields: Sequence[str] = DEFAULT_FIELDS) -> str:
    """The query text with each scored leaf boosted by its weight: `oil` -> `(title:oil^1.1 OR
    body:oil^0.97)` (the title boost still applies on top), `body:"oil price"` -> `body:"oil price"^1.02`.

    Exclusions, operators, leaves already boosted or with slop/prefix, and fields other than `fields` are
    left as written (unweighted). `analyse` turns a leaf's text into the index's terms.
    """
    def boost(field: str, value: str) -> str:
        terms = analyse(value.strip('"'))
        w = weights(field, terms) if terms else 1.0
        return f"{field}:{value}" if abs(w - 1.0) < 1e-6 else f"{field}:{value}^{w:.6g}"

    def rewrite(m: re.Match) -> str:
        pre, field, val, post = m.group("pre"), m.group("field"), m.group("val"), m.group("post")
        if pre == "-" or post or (not field and val in _OPERATORS) or val == '""':
            return m.group(0)
        if field:
            return pre + boost(field, val) if field in fields else m.group(0)
        return pre + "(" + " OR ".join(boost(f, val) for f in fields) + ")"

    return _LEAF.sub(rewrite, text)
