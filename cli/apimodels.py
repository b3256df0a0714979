"""The shapes of the API's answers, for /openapi.json only: routes serialise their answers themselves (faster
than FastAPI's encoder), and tests/test_api_fuzz.py checks every answer against these. Extra fields are
refused, so a field leaking into an answer (a server path, say) fails that test."""
from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class _Shape(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Error(_Shape):
    error: str
    status: int
    parameter: str | None = None


class CategoryCount(_Shape):
    category: str
    count: int


class DateBucket(_Shape):
    start: str
    count: int


class Facets(_Shape):
    categories: list[CategoryCount]
    date_interval: str
    dates: list[DateBucket]
    undated: int  # matches with no date: in no bucket of `dates`
    uncategorised: int  # matches with no category
    counts: str = "articles"  # what the counts count: articles, every copy of a story included


class Hit(_Shape):
    id: str
    score: float | None
    title: str
    url: str | None
    date: str | None
    categories: list[str]
    authors: list[str]
    site: str | None
    snippet: str
    copies: int = 0  # other matching articles of the same story, folded into this hit
    copy_ids: list[str] = []  # their ids, best first (at most 20)


class SearchAnswer(_Shape):
    query: str
    total: int
    page: int
    limit: int
    sort: str
    hits: list[Hit]
    facets: Facets | None
    warnings: list[str]
    did_you_mean: str | None  # the query with words the archive does not hold corrected
    folded: bool = True  # near-duplicates folded: one hit per story
    stories: int | None = None  # matching stories when folded (pages count these), else null
    pages: int
    took_ms: float
    cached: bool = False  # present, and true, when answered from the cache


class Completion(_Shape):
    text: str
    count: int


class TitleSuggestion(_Shape):
    id: str
    title: str
    url: str | None
    date: str | None


class SuggestAnswer(_Shape):
    query: str
    completions: list[Completion]
    titles: list[TitleSuggestion]
    took_ms: float
    cached: bool = False


class Health(_Shape):
    status: str
    articles: int
    version: str


class Article(_Shape):
    id: str
    title: str
    body: str
    url: str | None
    date: str | None
    categories: list[str]
    authors: list[str]
    site: str | None
    title_from_body: bool  # the title was made up from the body's first words (shown, not searched)


class RelatedHit(_Shape):
    id: str
    score: float
    title: str
    url: str | None
    date: str | None
    categories: list[str]


class RelatedAnswer(_Shape):
    id: str
    related: list[RelatedHit]


def answers(ok: type[BaseModel], *errors: int) -> dict:
    """The `responses` of a route: `ok` for 200, the JSON error for each of `errors`."""
    return {200: {"model": ok}, **{status: {"model": Error} for status in errors}}
