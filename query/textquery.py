"""What people type in a search box -> a ranked Tantivy query that degrades gracefully.

A query of plain words is a question or a few keywords, not a boolean formula:
- Stopwords are left out ("what are the effects of …"), unless the query is nothing but stopwords.
- Each remaining word is a clause over title and body, and an article holding any of them matches, so a query
  never comes back empty while articles hold some of its words. BM25 ranks articles with more of the words
  and rarer ones first.
- Articles holding enough of the words (all of one or two, all but one of three or four) score a bonus worth
  one occurrence of the rarest word, so a keyword query lists the articles with every word first, as an
  AND would, and the rest after them (Meilisearch's "words" rule, Elasticsearch's `minimum_should_match`
  as a boost rather than a filter). Long questions get no bonus: their rarest words decide.
- Words next to each other in the query score extra when they are near each other in an article.
- A word the archive does not hold, of 5 letters or more, also matches its closest archive words
  (query/typos.py), at a lower weight, so exact matches rank first; phrases and field terms never do.

The user can still constrain: `+word` and `"a phrase"` must match, `-word` / `-"phrase"` must not,
`title:` `body:` `author:` `site:` restrict a term to a field, and a query with `AND`, `OR`, `NOT` or
parentheses is read as a boolean formula by Tantivy's own parser (every word required by default).
"""
from __future__ import annotations

import copy
import itertools
import re
import threading
from dataclasses import dataclass, field

import tantivy

from newssearch.indexer.schema import text_analyzer

from .parse import MAX_SLOP, check_query_size, parse_text
from .stopwords import STOPWORDS
from .typos import Speller
from .weighting import TermWeights, idf

MAX_PHRASE_WORDS = 32
MAX_RANKED_WORDS = 64  # the distinct words of a query that are scored; a pasted page stops there
# Weights chosen on the four dev collections (bench/relevance.py; README "Ranking" says what each gained).
TITLE_WEIGHT = 0.2  # the title field's BM25 on top of the body's (which holds the headline too)
PROXIMITY_SLOP = 3  # query neighbours within 3 positions of each other in the body…
PROXIMITY_BOOST = 0.3  # …add this share of a term's weight
TYPO_BOOST = 0.5  # a corrected word counts half as much as a word typed right

FIELDS = ("title", "body", "author", "site")
_OPERATORS = {"AND", "OR", "NOT"}
_TOKEN = re.compile(r'''
      (?P<paren>[()])
    | (?:(?:(?<=^)|(?<=[\s(]))(?P<sign>[+-]))?
      (?:(?P<field>[A-Za-z]+):(?=\S))?
      (?: "(?P<phrase>[^"]*)"?(?:~(?P<slop>\d+))?
        | (?P<word>[^\s"()]+) )
    | (?P<other>\S)
''', re.X)
_local = threading.local()


def analyse(text: str) -> list[str]:
    """Text -> the index's terms (the `news` analyser: words, lower case, accents folded, stemmed)."""
    analyzer = getattr(_local, "analyzer", None)
    if analyzer is None:
        analyzer = _local.analyzer = text_analyzer()
    return analyzer.analyze(text)


def _bare(word: str) -> str:
    """A word as typed without the punctuation around it ("prices," -> "prices")."""
    return word.strip(".,;:!?'\"")


STRICT_ENOUGH = 10  # articles holding every word that fill a page: then only they match
STRICT_WORDS = 2  # up to this many words: longer queries any word (measured: all-but-one of 3-4 cost CACM)


def enough_words(n: int) -> int:
    """How many of n plain words earn an article the coordination bonus (1: no bonus)."""
    return n if n <= 2 else n - 1 if n <= 4 else 1


@dataclass
class TextQuery:
    """The parsed query: what to run, what to fall back to when it finds nothing, and what to show.

    Each query to run comes with `…_matches`, the same articles unscored (each word's body term, the
    exclusions, the required clauses; no proximity or bonus clauses): what counts and facets run, at about
    half the cost of the ranked query (Tantivy still walks its optional clauses when nothing is scored).
    None for a boolean formula: then the ranked query counts too."""

    query: tantivy.Query
    relaxed: tantivy.Query | None = None  # any word matching, for when required phrases/terms match nothing
    warnings: list[str] = field(default_factory=list)
    highlight: str = ""  # words whose forms are highlighted in snippets (the corrections included)
    did_you_mean: str | None = None  # the query with its unknown words corrected
    # Only the articles holding every word of a one-or-two-word query, for when they fill a page
    # (STRICT_ENOUGH): a keyword query's AND when it finds enough, Typesense's drop_tokens_threshold.
    strict: tantivy.Query | None = None
    strict_df: int | None = None  # the fewest articles any of its words is in: the AND cannot find more
    matches: tantivy.Query | None = None
    relaxed_matches: tantivy.Query | None = None
    strict_matches: tantivy.Query | None = None


@dataclass
class _Word:
    text: str  # as typed
    terms: list[str]  # as indexed (several for "U.S." or "non-linear": a phrase)
    corrections: list[list[str]] = field(default_factory=list)
    count: int = 1  # times the query says it


class QueryBuilder:
    """Builds TextQuery objects for one index (holds its typo dictionary)."""

    def __init__(self, index: tantivy.Index, title_boost: float = TITLE_WEIGHT):
        self.index = index
        self.schema = index.schema
        self.title_boost = title_boost
        self.speller = Speller()
        self.term_weights: TermWeights | None = None  # set on a per-query copy by build()

    # --- clauses ------------------------------------------------------------------------------------
    def _terms(self, fieldname: str, terms: list[str], slop: int = 0) -> tantivy.Query:
        """Every scored leaf of a query (a term or a phrase in one field) is made here, so `term_weights`
        (a sharded archive's global idf / shard idf, query/weighting.py) applies to each."""
        if len(terms) == 1:
            q = tantivy.Query.term_query(self.schema, fieldname, terms[0])
        else:
            q = tantivy.Query.phrase_query(self.schema, fieldname, terms, slop)
        w = self.term_weights(fieldname, terms) if self.term_weights is not None else 1.0
        return q if w == 1.0 else tantivy.Query.boost_query(q, w)

    def _text(self, terms: list[str], fieldname: str | None = None, slop: int = 0) -> tantivy.Query:
        """Terms (one, or a phrase) in title or body, title boosted; or in one named field."""
        if fieldname in ("title", "body"):
            return self._terms(fieldname, terms, slop)
        title = tantivy.Query.boost_query(self._terms("title", terms, slop), self.title_boost)
        return tantivy.Query.boolean_query([(tantivy.Occur.Should, title),
                                            (tantivy.Occur.Should, self._terms("body", terms, slop))])

    def _word(self, w: _Word) -> tantivy.Query:
        """A plain word: its term (weighted by how often the query says it), or failing that its corrections."""
        q = self._text(w.terms)
        if w.count > 1:  # a word a long question repeats is what it is about
            q = tantivy.Query.boost_query(q, float(w.count))
        if not w.corrections:
            return q
        alternatives = [(tantivy.Occur.Should, q)] + [
            (tantivy.Occur.Should, tantivy.Query.boost_query(self._text(c), TYPO_BOOST)) for c in w.corrections]
        return tantivy.Query.boolean_query(alternatives)

    def _field(self, fieldname: str, value: str, phrase: bool, slop: int) -> tantivy.Query | None:
        if fieldname in ("author", "site"):
            return tantivy.Query.term_query(self.schema, fieldname, value.strip().lower())
        terms = analyse(value)[:MAX_PHRASE_WORDS]
        return self._text(terms, fieldname, slop) if terms else None

    # --- the query ----------------------------------------------------------------------------------
    def build(self, text: str, searcher: tantivy.Searcher | None = None,
              term_weights: TermWeights | None = None) -> TextQuery:
        """Query text (already stripped of `category:` filters) -> TextQuery. Never raises on syntax.
        `term_weights(field, terms)` multiplies each leaf's score (a sharded archive's global statistics)."""
        if term_weights is not None:  # a copy carries them: one builder serves many threads
            weighted = copy.copy(self)
            weighted.term_weights = term_weights
            return weighted.build(text, searcher)
        text = text.strip()
        check_query_size(text)
        if not text:
            return TextQuery(tantivy.Query.all_query())
        if self._is_boolean(text):
            return self._boolean(text)
        searcher = searcher or self.index.searcher()
        musts: list[tantivy.Query] = []
        nots: list[tantivy.Query] = []
        words: dict[str, _Word] = {}
        stopwords: dict[str, _Word] = {}
        loose: list[_Word] = []  # the words of required phrases and terms, for the relaxed query
        highlight: list[str] = []
        warnings: list[str] = []
        for m in _TOKEN.finditer(text):
            if m.group("paren") or m.group("other"):
                continue  # punctuation outside a formula
            sign, fieldname = m.group("sign"), (m.group("field") or "").lower()
            phrase, value = m.group("phrase"), m.group("word")
            if fieldname and fieldname not in FIELDS:  # "Note:" is a word, not a field
                value, fieldname = f"{m.group('field')} {value or phrase or ''}", ""
                phrase = None
            if phrase is not None or fieldname:
                slop = min(int(m.group("slop") or 0), MAX_SLOP)
                if m.group("slop") and int(m.group("slop")) > MAX_SLOP:
                    warnings.append(f"q: phrase slop ~{m.group('slop')} reduced to ~{MAX_SLOP}")
                clause = self._field(fieldname or "text", phrase if phrase is not None else value,
                                      phrase is not None, slop)
                if clause is not None:
                    (nots if sign == "-" else musts).append(clause)
                    if sign != "-" and fieldname in ("", "body", "title"):
                        highlight.append(phrase if phrase is not None else value)
                    if sign != "-" and not fieldname:  # a field restriction is never relaxed
                        loose += [_Word(t, [t]) for t in analyse(phrase)]
                continue
            terms = analyse(value)[:MAX_PHRASE_WORDS]
            if not terms:
                continue
            if sign == "-":
                nots.append(self._text(terms))
            elif sign == "+":
                musts.append(self._text(terms))
                highlight.append(value)
                loose.append(_Word(value, terms))
            else:
                key = " ".join(terms)
                table = stopwords if _bare(value).lower() in STOPWORDS else words
                if key in table:
                    table[key].count += 1
                elif len(table) < MAX_RANKED_WORDS:
                    table[key] = _Word(value, terms)
        if not words and not musts:
            words = stopwords  # a query of stopwords only ("the who") is taken at its word
        did_you_mean = self._correct(searcher, text, words.values())
        highlight += [w.text for w in words.values()] + [" ".join(c) for w in words.values() for c in w.corrections]
        plain = list(words.values())
        out = TextQuery(self._combine(searcher, plain, musts, nots), None, warnings, " ".join(highlight),
                        did_you_mean, matches=self._matching(plain, musts, nots))
        # When what is required matches nothing, any of the words will do.
        fallback = self._merge(plain, loose) if musts else []
        if fallback:
            out.relaxed = self._combine(searcher, fallback, [], nots)
            out.relaxed_matches = self._matching(fallback, [], nots)
        if 1 < len(plain) <= STRICT_WORDS and not musts and not any(w.corrections for w in plain):
            out.strict = self._combine(searcher, plain, musts, nots, len(plain))
            out.strict_df = min(self._df(searcher, w) for w in plain)
            out.strict_matches = self._matching(plain, musts, nots, len(plain))
        return out

    @staticmethod
    def _merge(words: list[_Word], more: list[_Word]) -> list[_Word]:
        merged = {" ".join(w.terms): w for w in words}
        for w in more:
            merged.setdefault(" ".join(w.terms), w)
        return list(merged.values())[:MAX_RANKED_WORDS]

    def _correct(self, searcher: tantivy.Searcher, text: str, words) -> str | None:
        """Attach corrections to the words the archive does not hold; the query as it would be corrected."""
        fixed = []
        for w in words:
            if len(w.terms) != 1:
                continue
            found = self.speller.corrections(searcher, _bare(w.text))
            w.corrections = list({tuple(t): t for c in found if (t := analyse(c.word))}.values())
            if found:
                fixed.append((w.text, found[0].word))
        if not fixed:
            return None
        for typed, fix in fixed:
            text = re.sub(rf"(?<!\w){re.escape(typed)}(?!\w)", fix, text)
        return text

    def _combine(self, searcher: tantivy.Searcher, words: list[_Word], musts: list[tantivy.Query],
                 nots: list[tantivy.Query], need: int = 1) -> tantivy.Query:
        """Required and excluded clauses, and the plain words (any of them matching when nothing else is
        required), with bonuses for holding enough of them and for neighbouring words close together."""
        clauses = [(tantivy.Occur.Must, q) for q in musts] + [(tantivy.Occur.MustNot, q) for q in nots]
        if words:
            plain = [(tantivy.Occur.Should, self._word(w)) for w in words]
            occur = tantivy.Occur.Should if musts else tantivy.Occur.Must
            clauses.append((occur, plain[0][1] if len(plain) == 1 else
                            tantivy.Query.boolean_query(plain, minimum_number_should_match=need)))
            clauses += [(tantivy.Occur.Should, q) for q in self._proximity(words)]
            enough = enough_words(len(words))
            if enough > 1:  # (also in an AND, where all have it: scores stay those of the any-word query)
                bonus = max(self._idf(searcher, w) for w in words)
                clauses.append((tantivy.Occur.Should, tantivy.Query.const_score_query(self._most(words, enough), bonus)))
        if not any(o == tantivy.Occur.Must for o, _ in clauses):
            clauses.append((tantivy.Occur.Must, tantivy.Query.all_query()))  # only exclusions
        return tantivy.Query.boolean_query(clauses)

    def _matching(self, words: list[_Word], musts: list[tantivy.Query], nots: list[tantivy.Query],
                  need: int = 1) -> tantivy.Query:
        """What `_combine` matches, unscored: the required and excluded clauses, and (when nothing else is
        required) any word's body term, or every word's when `need` is all of them. The body holds the
        headline, so a title match is a body match."""
        clauses = [(tantivy.Occur.Must, q) for q in musts] + [(tantivy.Occur.MustNot, q) for q in nots]
        if words and not musts:
            clauses.append((tantivy.Occur.Must, self._most(words, need)))
        if not any(o == tantivy.Occur.Must for o, _ in clauses):
            clauses.append((tantivy.Occur.Must, tantivy.Query.all_query()))
        return tantivy.Query.const_score_query(tantivy.Query.boolean_query(clauses), 1.0)

    def _most(self, words: list[_Word], enough: int) -> tantivy.Query:
        """Articles holding at least `enough` of the words: the union of the intersections of each `enough`
        of them (at most 4 of 4 words), not a minimum-should-match union. The same articles, but Tantivy
        scans a union of every word's postings to count matches, while intersections skip through them
        (bench/serve.py: a third of a three-word query's search time at 200,000 articles)."""
        held = [self._held(w) for w in words]
        if enough == len(held):
            return tantivy.Query.boolean_query([(tantivy.Occur.Must, h) for h in held])
        if enough == 1:
            return tantivy.Query.boolean_query([(tantivy.Occur.Should, h) for h in held])
        return tantivy.Query.boolean_query([(tantivy.Occur.Should, tantivy.Query.boolean_query(
            [(tantivy.Occur.Must, h) for h in some])) for some in itertools.combinations(held, enough)])

    def _held(self, w: _Word) -> tantivy.Query:
        """Whether an article holds a word (or a correction of it), unscored: the body alone decides, as it
        holds the headline too."""
        forms = [w.terms] + w.corrections
        leaves = [tantivy.Query.term_query(self.schema, "body", f[0]) if len(f) == 1
                  else tantivy.Query.phrase_query(self.schema, "body", f) for f in forms]
        return leaves[0] if len(leaves) == 1 else tantivy.Query.boolean_query(
            [(tantivy.Occur.Should, q) for q in leaves])

    @staticmethod
    def _df(searcher: tantivy.Searcher, w: _Word) -> int:
        """The articles whose body holds the word (a phrase: its rarest term)."""
        return min(searcher.doc_freq("body", t) for t in w.terms)

    def _idf(self, searcher: tantivy.Searcher, w: _Word) -> float:
        """BM25's idf of a word in the body (as Tantivy computes it); a phrase counts as its rarest term.
        Archive-wide in a sharded archive: times the word's weight there (global idf / shard idf)."""
        weight = self.term_weights("body", w.terms) if self.term_weights is not None else 1.0
        return weight * idf(self._df(searcher, w), max(1, searcher.num_docs))

    def _proximity(self, words: list[_Word]) -> list[tantivy.Query]:
        """Neighbouring query words found close together in the body."""
        out = []
        for a, b in zip(words, words[1:]):
            if len(a.terms) == 1 and len(b.terms) == 1 and a.terms != b.terms:
                near = self._terms("body", a.terms + b.terms, PROXIMITY_SLOP)
                out.append(tantivy.Query.boost_query(near, PROXIMITY_BOOST))
        return out

    # --- boolean formulas ---------------------------------------------------------------------------
    @staticmethod
    def _is_boolean(text: str) -> bool:
        """AND/OR/NOT as operators (not in a query typed in capitals, where they are words)."""
        if text.upper() == text:
            return False
        return any(t in _OPERATORS for t in re.findall(r"[^\s()\"]+", text))

    def _boolean(self, text: str) -> TextQuery:
        query, warnings = parse_text(self.index, text, self.title_boost, self.term_weights)
        return TextQuery(query, None, warnings, highlight=text)
