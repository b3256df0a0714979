"""Search-as-you-type: complete the word being typed into a phrase the archive holds.

"oil pr" -> "oil prices", "oil production", … — what people type, not merely words found near "oil" ("oil
previous", "oil president"). The last word is a prefix walked in the term dictionary of the unstemmed `words`
field, over articles that hold the words already typed; each candidate is then kept only if the archive has
it right after the words before it (a phrase query of up to PHRASE_WORDS words in the body, backing
off to fewer), and ranked by how many articles hold that phrase. One word alone is completed by document
frequency. The headlines shown under the box are the best matches of the completed query.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

import tantivy

from newssearch.indexer.schema import text_analyzer

from newssearch.errors import QueryError

from .parse import check_query_size

MAX_SUGGESTIONS = 20
# One letter matches a large slice of the dictionary; counting each term over the typed context would walk
# its postings, so a one-letter prefix takes its candidates by plain document frequency.
MIN_PREFIX_FOR_CONTEXT = 2
PHRASE_WORDS = 3  # the completed word and up to two typed words before it must stand together in an article
CANDIDATES = 3  # words checked for phrase evidence per completion asked for: the commonest in context
_WORD = re.compile(r"\w+", re.UNICODE)


@dataclass
class Completion:
    text: str  # the whole query, completed
    count: int  # articles holding every word of it


@dataclass
class TitleSuggestion:
    id: str
    title: str
    url: str | None
    date: str | None


@dataclass
class Suggestions:
    query: str
    completions: list[Completion] = field(default_factory=list)
    titles: list[TitleSuggestion] = field(default_factory=list)
    took_ms: float = 0.0


def _being_typed(matches: list[re.Match]) -> bool:
    """Whether the last word runs to the end of the text (so it is still being typed)."""
    return bool(matches) and matches[-1].end() == len(matches[-1].string)


def check_suggest_limits(limit: int, titles: int) -> None:
    """Refuse completion and headline counts out of range (a QueryError naming the parameter)."""
    for name, value in (("limit", limit), ("titles", titles)):
        if not isinstance(value, int) or not 0 <= value <= MAX_SUGGESTIONS:
            raise QueryError(name, f"{value!r} is out of range (0 to {MAX_SUGGESTIONS})")


def split_typed(q: str) -> tuple[list[str], str]:
    """The words already typed and the prefix being typed ('' when the text ends with a space)."""
    matches = list(_WORD.finditer(q))
    words = [m.group().lower() for m in matches]
    if _being_typed(matches):
        return words[:-1], words[-1]
    return words, ""


def words_query(schema: tantivy.Schema, words: list[str]) -> tantivy.Query | None:
    """Articles holding every one of `words` (as written, case-blind)."""
    terms = [tantivy.Query.term_query(schema, "words", w) for w in dict.fromkeys(words)]
    if not terms:
        return None
    return terms[0] if len(terms) == 1 else tantivy.Query.boolean_query([(tantivy.Occur.Must, t) for t in terms])


def complete(index: tantivy.Index, searcher: tantivy.Searcher, q: str, limit: int) -> list[Completion]:
    """Up to `limit` completions of `q`'s last word: phrases the archive holds, the commonest first."""
    check_query_size(q)
    context, prefix = split_typed(q)
    if not prefix or limit < 1:
        return []
    if not context:
        return _completions(context, searcher.terms_with_prefix("words", prefix, limit=limit), limit)
    # Candidates: the prefix's commonest words in articles holding the typed words, or, for one letter,
    # in the whole archive (see MIN_PREFIX_FOR_CONTEXT); the phrase check below keeps the right ones.
    ctx = words_query(index.schema, context) if len(prefix) >= MIN_PREFIX_FOR_CONTEXT else None
    found = searcher.terms_with_prefix("words", prefix, filter_query=ctx, limit=limit * CANDIDATES + len(context))
    candidates = [(term, count) for term, count in found if count > 0 and term not in context]
    for n in range(min(PHRASE_WORDS - 1, len(context)), 0, -1):
        # Ranked in context, the first candidates with a phrase are the list; ranked by the whole archive's
        # counts (one letter typed), any of them may be the commonest phrase: all are checked.
        phrased = _phrase_counts(index.schema, searcher, context, n, candidates,
                                 limit if ctx is not None else len(candidates))
        if phrased:
            return _completions(context, phrased, limit)
    return []


def _completions(context: list[str], found: list[tuple[str, int]], limit: int) -> list[Completion]:
    head = " ".join(context)
    return [Completion(text=f"{head} {term}".strip(), count=count)
            for term, count in found if count > 0 and term not in context][:limit]


def _phrase_counts(schema: tantivy.Schema, searcher: tantivy.Searcher, context: list[str], n: int,
                   candidates: list[tuple[str, int]], enough: int) -> list[tuple[str, int]]:
    """(candidate, articles holding the last `n` typed words followed by it, and the other typed words),
    commonest first; candidates with none left out. `candidates`: (word, articles holding it and the typed
    words), commonest first. Candidates that stem alike ("show", "shows") match the same phrases: the
    commonest in context stands for them, and they are checked in the order of their summed counts, until
    `enough` have a phrase: each check is a phrase count over the archive (a few milliseconds for common
    words at 200,000 articles). Checking them all gave the same lists for every typed prefix of
    bench/serve.py's mix (815 at 200k, 822 on Reuters + BBC)."""
    analyzer = text_analyzer()
    lead, rest = context[-n:], words_query(schema, context[:-n])
    forms: dict[tuple[str, ...], list] = {}  # the phrase's terms -> [its commonest word, summed count]
    for term, count in candidates:
        tokens = tuple(analyzer.analyze(" ".join([*lead, term])))
        if len(tokens) >= 2:
            forms.setdefault(tokens, [term, 0])[1] += count
    counted: list[tuple[str, int]] = []
    for tokens, (term, _) in sorted(forms.items(), key=lambda f: -f[1][1]):
        # The body field holds the headline too: a phrase in the title is one in the body. Counted unscored.
        phrase = tantivy.Query.phrase_query(schema, "body", list(tokens))
        query = phrase if rest is None else tantivy.Query.boolean_query(
            [(tantivy.Occur.Must, phrase), (tantivy.Occur.Must, rest)])
        count = searcher.search(tantivy.Query.const_score_query(query, 1.0), limit=1).count
        if count:
            counted.append((term, count))
            if len(counted) >= enough:
                break
    return sorted(counted, key=lambda c: -c[1])


def expand_prefix(q: str, completions: list[Completion]) -> str:
    """The query text with the word being typed replaced by its completions: "oil pr" -> "oil (prices OR
    price OR …)", so results can follow each keystroke. Text ending in a space is left as it is."""
    matches = list(_WORD.finditer(q))
    if not _being_typed(matches):
        return q
    last = [c.text.rsplit(" ", 1)[-1] for c in completions] or [matches[-1].group()]
    return f"{q[:matches[-1].start()]}({' OR '.join(last)})"
