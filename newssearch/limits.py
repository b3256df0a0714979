"""Bounds and defaults the library and its faces (CLI, HTTP) share; a module of constants, so the CLI can
build its options without importing the index machinery. The README states each bound."""

SORTS = ("relevance", "newest", "oldest")
MAX_LIMIT = 100  # hits (or related posts) per request
BATCH_SIZE = 5000  # articles per commit: a crash costs at most one batch of work

# What one input may take (README, "Reliability and bounds"). Each bound hit is a problem naming the file
# (and line) or a 4xx answer, and nothing else is lost.
MiB = 1024 * 1024
MAX_RECORD_BYTES = 16 * MiB  # one JSON line, one CSV row (characters) or one HTML/text page
MAX_FILE_BYTES = 64 * MiB  # a JSON document or SGML file, which are parsed whole (after decompression)
MAX_GZIP_RATIO = 100  # text gzips 3-10x: past GZIP_RATIO_FROM, inflating more than this is a bomb
GZIP_RATIO_FROM = 16 * MiB
MAX_BODY_CHARS = 200_000  # stored and searched, cut at a word: snippets scan the body (30,000 words)
MAX_TITLE_CHARS = 1_000
MAX_URL_CHARS = 4_096  # longer URLs are dropped, as are all but absolute http(s) ones
MAX_HEAD_BYTES = 64 * 1024  # an HTTP request line and headers; browsers send 1-8 KB
HEAD_TIMEOUT_S = 10.0  # to send them, from connecting or from a request's first byte
