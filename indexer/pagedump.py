"""Text page dumps (a page saved as text by a browser or `w3m -dump`) -> Article.

No library does this, so we do, from what one page shows:
- the body is the densest run of prose blocks (a maximum-sum segment over blocks: prose blocks count
  their words, menus, share rows, headline lists and widgets count against), as in Body Text Extraction;
- the title is the headline-like line just above the body, preferring one the page repeats (breadcrumb)
  or that stands just above a byline/date line;
- the byline/date line gives author and date; a short menu item just above the title is the category;
- a "Name | tagline" line repeated on the page names the site.
"""
from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from functools import cached_property, lru_cache
from pathlib import Path

from .article import Article, Problem, make_article
from .dates import DATE_IN_TEXT as _DATE, MONTHS as _MONTHS, parse_date
from .formats import BY_NAME, decide_format, decode_text
from .repeats import drop_repeated_runs
from .sources import read_bytes

_BYLINE = re.compile(rf"(?<![a-z])(?:By|BY|by)(?:[:\s]\s*|(?=[A-Z][a-z]))(.+?)(?=\s*(?:{_MONTHS}\b|\d|\||•|·|—|–|-\s|,\s*(?:Updated|Published)|$))")
_BULLET = re.compile(r"^\s*(?:[•*·▪◦‣□■○●▸►\-–]|\d+\.|\[\d+\])(?:\s+|$)")
_SENTENCE_END = re.compile(r"[.!?…:;。！？][\"'”’»)\]]*$")
_STATEMENT_END = re.compile(r"[.!。！][\"'”’»)\]]*$")  # not "?": headlines ask, list items state
_PUNCT = re.compile(r"[.,;:!?。，、；：！？]")
_CJK = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uac00-\ud7af]")
_SHARE_WORDS = {"facebook", "twitter", "x", "instagram", "pinterest", "linkedin", "tumblr", "email", "whatsapp",
                "telegram", "reddit", "share", "copy", "link", "print", "google", "news", "flipboard", "follow",
                "us", "on", "(twitter)", "youtube", "tiktok", "rss", "comments", "comment"}
_JUNK = re.compile(r"^(?:\[?submit\]? )?(?:by taboola|sponsored( links| content| stories)?\b|promoted (?:links|stories)|"
                  r"powered by|around the web|report this ad|advertisement$|read more stories about|"
                  r"we use cookies|this (?:web)?site uses cookies|log in with your|sign up for a free)", re.I)
# A cookie banner in any wording ("LinkedIn and 3rd parties use essential and non-essential cookies … Select
# Accept to consent"): cookies and the reader's consent to them, in a notice's length.
_COOKIES = re.compile(r"\bcookies\b", re.I)
_CONSENT = re.compile(r"\b(?:consent|cookie (?:policy|settings|preferences)|accept all|reject all|non-essential)\b", re.I)
CONSENT_CHARS = 800
# Headings of boxes of links to other stories. At an article's end they end it; a dump can also show one in
# mid-article (a list, or a few links, that paragraphs go on after): then it is junk, not an end (_boxes).
_BOX_HEADINGS = (r"related(?: \w+)?$|related (?:posts|articles|stories|news|content)|recommended related|"
                 r"more from|you (?:may|might) also like|recommended for you|top posts|don'?t miss|"
                 r"most (?:read|popular|viewed|shared)|您可能會有興趣|相關文章|延伸閱讀|推薦文章")
_SIDEBARS = re.compile(rf"^(?:{_BOX_HEADINGS})", re.I)
# Lines that end an article in the templates news sites use: after them come teasers and comments. Lines that
# also stand inside articles ("Advertisement", "Read more", "Share this") are only junk, not an end.
_END_MARKERS = re.compile(
    rf"^(?:{_BOX_HEADINGS}|source link|leave a (?:reply|comment)|add a comment|(?:there are )?\d+ comments?$|"
    r"comments?$|previous (?:article|post)|next (?:article|post)|about the author|"
    r"subscribe to (?:updates|our newsletter)|上一篇|下一篇)", re.I)
_STOP = set("""the a an and or of to in on for with at by from is was are were be been it its that this as has
have had but not he she they we you his her their our said will would can der die das und ist nicht ein eine
zu den von mit sich des auf für im dem auch es an als wird bei le la les et des est un une du dans que qui
pour pas sur au il elle el los las y en por con se lo del para una su al es o e um uma os não com da do na no
em de di il che è per non gli ed het een van ik je zijn op te dat niet je se na že je to jako pro ale""".split())


@dataclass
class _Block:
    start: int  # index of its first line
    lines: list[str]

    # Cached: the span search, the body filter and the title search each ask every block again.
    @cached_property
    def text(self) -> str:
        return _join([_clean_line(l) for l in self.lines])

    @cached_property
    def words(self) -> int:
        return _count_words(self.text)

    def is_list(self) -> bool:
        bullets = sum(1 for l in self.lines if _BULLET.match(l))
        # Link lists with thumbnails put the bullet, the image and the headline each on a line of its own.
        bare = sum(1 for l in self.lines if _BULLET.fullmatch(l))
        return len(self.lines) >= 2 and (bullets >= max(3, len(self.lines) / 6) or bare >= max(3, len(self.lines) / 4) or
                                         all(_count_words(l) <= 6 for l in self.lines))

    def items(self) -> list[str]:
        """The block's list items: a bullet starts one, the lines after it (wrapped text) continue it."""
        items: list[list[str]] = []
        for line in self.lines:
            if _BULLET.match(line) or not items:
                items.append([line])
            else:
                items[-1].append(line)
        return [_join([_clean_line(l) for l in item]) for item in items]  # _clean_line drops the bullet

    def is_sentence_list(self) -> bool:
        """A bulleted list whose items are sentences (release notes, key points): article, not a menu of
        links or a list of headlines, whose items are short and seldom end a sentence."""
        items = [i for i in self.items() if i]
        if not items:
            return False
        openings = Counter(" ".join(i.split()[:3]).casefold() for i in items)
        if len(items) >= 3 and openings.most_common(1)[0][1] * 2 >= len(items):
            return False  # items made from one pattern: share buttons ("Click to share on X", "… on Facebook")
        sentences = sum(1 for i in items if _count_words(i) >= 8 and _STATEMENT_END.search(i)
                        or _count_words(i) >= 4 and _stop_ratio(i) >= 0.2 and _lower_share(i) >= LOWER_SHARE)
        return sentences >= max(2, len(items) / 2) and self.words / len(items) >= SENTENCE_ITEM_WORDS

    def is_prose(self) -> bool:
        """Sentences, in any language: punctuation, function words or full wrapped lines; not a menu."""
        text, n = self.text, self.words
        if n < 6 or _is_junk_row(text):
            return False
        if self.is_list():
            return self.is_sentence_list()
        cjk = len(_CJK.findall(text))
        if cjk >= 12 and cjk >= 0.5 * len(text.replace(" ", "")) and len(self.lines) <= 3 and \
                not any(_BULLET.match(l) for l in self.lines):
            return True  # a paragraph of Chinese or Japanese that long is a sentence: menus there are short
        stop_ratio = _stop_ratio(text)
        punct = len(_PUNCT.findall(text)) / n
        wrapped = len(self.lines) >= 2 and sum(len(l) for l in self.lines[:-1]) / (len(self.lines) - 1) >= 55
        return (bool(_SENTENCE_END.search(text)) and (stop_ratio >= 0.12 or punct >= 0.05 or n >= 15)
                or n >= 20 and (stop_ratio >= 0.2 or punct >= 0.05 or wrapped))


SENTENCE_ITEM_WORDS = 8  # words an item of a list of sentences has, on average
LOWER_SHARE = 0.5  # of a sentence's words after its first, at least this share start in lower case


def _lower_share(text: str) -> float:
    """The share of words after the first that start in lower case: most, in a sentence ("Visit and book
    your venue"); few, in a headline ("How Many Watts Does a Laptop Use?") or a name."""
    words = [w for w in text.split()[1:] if w[:1].isalpha()]
    return sum(w[:1].islower() for w in words) / len(words) if words else 0.0


def _stop_ratio(text: str) -> float:
    """The share of function words as sentences write them, in lower case: high in sentences, low in menus,
    names and headlines (which capitalise them: "Rihanna And The Radical Power Of …")."""
    tokens = [w.strip(".,;:!?\"'“”‘’()«»") for w in text.split()]
    return sum(w in _STOP for w in tokens) / len(tokens) if tokens else 0.0


def _count_words(text: str) -> int:
    """Words, counting each CJK character as one (those scripts put no spaces between words)."""
    cjk = len(_CJK.findall(text))
    return len(text.split()) + cjk if cjk else len(text.split())


def _join(lines: list[str]) -> str:
    """Wrapped lines back into one paragraph: a space between words, none inside CJK text."""
    out = ""
    for line in lines:
        if out and line and not (_CJK.match(out[-1]) and _CJK.match(line[0])):
            out += " "
        out += line
    return out.strip()


def _is_junk_row(text: str) -> bool:
    """Share buttons ("Facebook Twitter Email"), an ad slot ("Sponsored Links …") or a cookie or sign-in notice."""
    if _JUNK.match(text) or len(text) <= CONSENT_CHARS and _COOKIES.search(text) and _CONSENT.search(text):
        return True
    words = [w.lower().strip(".,:|") for w in text.split()]
    return bool(words) and sum(w in _SHARE_WORDS for w in words) >= max(2, len(words) * 0.6)


def _blocks(lines: list[str]) -> list[_Block]:
    blocks: list[_Block] = []
    current: list[str] = []
    for i, line in enumerate(lines + [""]):
        if line.strip():
            if not current:
                start = i
            current.append(line)
        elif current:
            blocks.append(_Block(start, current))
            current = []
    return blocks


TINY_PAGE_WORDS = 12
TEASER_WORDS = 80
BOX_LINES = 12
SHORT_LINE_WORDS = 5  # a subhead or a caption between paragraphs costs little
AFTER_END = 0.25  # what prose after an article's end marker (comments, teasers) counts for


def _body_span(blocks: list[_Block], template: frozenset[str] = frozenset(),
               boxes: set[int] = frozenset()) -> tuple[int, int]:
    """Maximum-sum run of blocks: prose scores its words, anything else its words (+3) against; a short
    line (a subhead, a caption) costs little. Once a run of 80+ words has met an end marker ("Related
    Posts", "Leave a Reply"), prose after it counts for a quarter: comments and teasers are prose too."""
    best, best_span = 0.0, (0, -1)
    total, start, weight = 0.0, 0, 1.0
    for i, b in enumerate(blocks):
        if _END_MARKERS.match(b.text) and total > 0 and i not in boxes:
            # An end marker closes the article: nothing after it may join this run.
            if best >= 80:
                weight = AFTER_END
            total, start = 0.0, i + 1
            continue
        if b.text in template or _is_teaser(blocks, i):
            score = -(b.words + 3.0)
        elif b.is_prose():
            score = b.words * weight
        elif len(b.lines) == 1 and b.words <= SHORT_LINE_WORDS and not _BULLET.match(b.lines[0]):
            score = -2.0
        else:
            score = -(b.words + 3.0)
        if total <= 0:
            total, start = 0.0, i
        total += score
        if total > best:
            best, best_span = total, (start, i)
    return best_span


def _after_dateline(blocks: list[_Block], first: int, last: int) -> int:
    """Where the body starts when its span opens with the headline and the date line: after them. Those are
    short and end no sentence ("Headline" / "2017-03-10 09:58 Source: …"); a first paragraph that gives a
    date ("WASHINGTON, June 2, 2025 - The Senate voted …") ends one and stays."""
    for k in range(first, min(first + 3, last)):
        text = blocks[k].text
        if blocks[k].words > 40 or _SENTENCE_END.search(text):
            break
        if _DATE.search(text):
            return k + 1
    return first


def _is_teaser(blocks: list[_Block], at: int) -> bool:
    """A headline and a short block that repeats it (the image's caption, then the link; or the link, then
    the summary under it): teasers for other stories. A heading the paragraph after it begins with, as a
    lead-in, is followed by more than a summary."""
    before = blocks[at - 1].text if at else ""
    return 4 <= len(before.split()) <= 20 and not _SENTENCE_END.search(before) and \
        blocks[at].words <= TEASER_WORDS and blocks[at].text.startswith(before)


def _box_end(blocks: list[_Block], at: int) -> int | None:
    """Where the article goes on when the heading at `at` heads a box inside it: a list, or a few short lines
    (links, thumbnails, dates) that paragraphs follow, with no other end marker among them. None: no box."""
    for k in range(at + 1, min(at + 1 + BOX_LINES, len(blocks))):
        b = blocks[k]
        if k == at + 1 and b.is_list():
            return k + 1
        if _END_MARKERS.match(b.text):
            return None
        if b.words > 15:  # the article going on: paragraphs, not one teaser's summary or a footer
            going_on = sum(1 for c in blocks[k + 1:k + 5] if c.words >= 20 and c.is_prose())
            return k if k > at + 1 and b.words >= 20 and b.is_prose() and going_on >= 2 else None
    return None


def _boxes(blocks: list[_Block]) -> set[int]:
    """The blocks of boxes inside the article ("Most Read" and its list; "Related Coverage" and its links):
    a dump shows them in mid-article. Junk, but not an end."""
    out: set[int] = set()
    for i, b in enumerate(blocks):
        if _SIDEBARS.match(b.text) and (end := _box_end(blocks, i)) is not None:
            out.update(range(i, end))
    return out


def _clean_line(line: str) -> str:
    return " ".join(_BULLET.sub("", line).split())


SLUG_SHARE, SLUG_BONUS = 0.5, 5.0  # a line that says half of the slug's words or more: a bonus by its share
BYLINE_BELOW_TITLE = 6  # lines from a headline down to its byline and date (an author's picture between)
_NOT_A_TITLE = re.compile(r"^(?:by\s?|written by|continue reading|skip to|advertisement|read more|sign (?:in|up)|"
                          r"please |ready to publish|log ?in|menu|search|table of contents|back to|start (?:a |your )?"
                          r"free|request (?:a )?demo|schedule |book a |get (?:started|a quote)|what are you looking|"
                          r"hero image|image:|photo:|\[)|\d+ min(?:ute)?s? read\b|\blogo\b|(?<!\w):$", re.I)


_SLUG_WORD = re.compile(r"[^\W\d_]{2,}")
TITLE_LINES_ABOVE = 40  # how far above the body a headline is looked for
SLUG_LINES_ABOVE = 120  # ... and one that its URL's slug names (a hero image, a long summary between)
ECHO_LINES, ECHO_BONUS = 12, 1.0  # a headline printed twice near itself (a hidden copy, the last breadcrumb)
FIRST_NAMED_BONUS = 1.5  # for the first line in the page that its URL's slug names
SLUG_LINES_BELOW = 120  # ... or below where the body was taken to start (a teaser or a menu above it)


def slug_words(url: str | None) -> set[str]:
    """The words of a page URL's slug ("/blog/how-to-start-a-meditation-practice" -> how, to, start, …):
    what the site wrote its headline as, where the path has one (three words or more)."""
    from urllib.parse import unquote, urlsplit

    if not url:
        return set()
    parts = [p for p in unquote(urlsplit(url).path).split("/") if p]
    for part in reversed(parts):
        words = _SLUG_WORD.findall(re.sub(r"\.\w{2,5}$", "", part).casefold())
        if len(words) >= 3:
            return set(words)
    return set()


def _slug_share(text: str, slug: set[str]) -> float:
    """The share of the slug's words that the line says."""
    return len(slug & set(_SLUG_WORD.findall(text.casefold()))) / len(slug) if slug else 0.0


def _find_title(lines: list[str], body_start: int, byline_at: int | None,
                template: frozenset[str] = frozenset(), slug: set[str] = frozenset()) -> int | None:
    """Index of the title line: headline-like, just above the byline or body, repeated elsewhere if possible,
    saying what the URL's slug says."""
    anchor = body_start
    texts = [_clean_line(l) for l in lines]
    best, best_score = None, float("-inf")
    scored: list[tuple[int, float, bool]] = []
    above = range(anchor - 1, max(-1, anchor - (SLUG_LINES_ABOVE if slug else TITLE_LINES_ABOVE)), -1)
    below = range(anchor, min(len(lines), anchor + SLUG_LINES_BELOW)) if slug else range(0)
    for i in [*above, *below]:
        t = texts[i]
        n = len(t.split())
        if not 3 <= n <= 30 or _DATE.search(t) and n < 8 or _is_junk_row(t) or _END_MARKERS.match(t):
            continue
        share = _slug_share(t, slug)
        if (anchor - i > TITLE_LINES_ABOVE or i >= anchor) and share < SLUG_SHARE:
            continue  # far above the body, or in it: only a line its URL's slug names
        if t.endswith(".") and n > 15 or _NOT_A_TITLE.search(t) or t in template or _crumbs(t):
            continue  # a sentence, a byline, a reading aid, the site's template or a breadcrumb trail
        if _PICTURE_OF.match(t) or _NAME_LINE.match(t) and (i + 1 < len(texts) and _DATE.search(texts[i + 1])
                                                          or i > 0 and _PICTURE_OF.match(texts[i - 1])):
            continue  # an author's picture and name beside the date line
        # Nearer the body is likelier, up to TITLE_LINES_ABOVE: farther, only the lines its slug names count,
        # and the first of those (not the nearest) is the headline.
        score = -0.05 * min(abs(anchor - i), TITLE_LINES_ABOVE)
        standalone = (i == 0 or not texts[i - 1]) and (i + 1 == len(texts) or not texts[i + 1])
        if standalone:
            score += 1.0  # headings stand alone; wrapped text and menus run on
        if any(t in other and other != t for j, other in enumerate(texts) if j != i):
            score += 2.0  # echoed in a breadcrumb ("Home » Title") or the window title
        elif any(texts[j] == t for j in range(max(0, i - ECHO_LINES), min(len(texts), i + ECHO_LINES)) if j != i):
            score += ECHO_BONUS
        if byline_at is not None and 0 < byline_at - i <= BYLINE_BELOW_TITLE:
            score += 2.0  # a headline over its byline and date
        elif byline_at is not None and 0 < i - byline_at <= 3:
            score += 1.0  # a headline under its date line
        if any(_BY_LINE.match(u) for u in texts[i + 1:i + 4]):
            score += 1.0  # a headline over its "By …" line
        if _BULLET.match(lines[i]):
            score -= 3.0
        if t[:1].islower():
            score -= 2.0  # the rest of a sentence or a caption, not a headline
        score += min(n, 15) / 15
        if share >= SLUG_SHARE:
            score += SLUG_BONUS * share  # the site's own words for its headline
        scored.append((i, score, share >= SLUG_SHARE))
    first_named = min((i for i, _, by_slug in scored if by_slug), default=None)
    for i, score, _ in scored:  # the first line the slug names: a subheading repeating its words comes later
        score += FIRST_NAMED_BONUS if i == first_named else 0.0
        if score > best_score:
            best, best_score = i, score
    return best


WRAP_WIDTH = 80  # a text dump's width (w3m's default): its lines hold one character less (WCXB's dumps:
# 32,066 lines of 79 characters, 405 of 80), so a headline that would have reached it went on on the next line
WRAPPED_AT = 60  # a line at least this long whose next line's first word would not have fitted was wrapped


def _headline(lines: list[str], at: int) -> str:
    """The headline line, and the lines it was wrapped onto in a dump of fixed width."""
    parts, line = [_clean_line(lines[at])], lines[at].rstrip()
    for nxt in lines[at + 1:at + 3]:
        words = nxt.split()
        if len(line) < WRAPPED_AT or not words or len(line) + 1 + len(words[0]) < WRAP_WIDTH \
                or _DATE.search(nxt) or _BY_LINE.match(_clean_line(nxt)) or len(_join(parts).split()) + len(words) > 30:
            break
        parts.append(_clean_line(nxt))
        line = nxt.rstrip()
    return _join(parts)


def _find_byline(lines: list[str], body_start: int) -> int | None:
    """The line with the publication date just above the body (a byline/date line)."""
    for i in range(body_start - 1, max(-1, body_start - 30), -1):
        t = _clean_line(lines[i])
        if _DATE.search(t) and len(t.split()) <= 25:
            return i
    return None


_CELLS = re.compile(r"\s{3,}")
_WEEKDAY = re.compile(r"^(?:mon|tues?|wed(?:nes)?|thu(?:rs)?|fri|sat(?:ur)?|sun)(?:day)?\b", re.I)
_IMAGE = re.compile(r"^\[[^\]\s]{1,40}\]\s*")  # w3m's stand-in for an image ("[624cde] Susan", "[Denise_Eve] …")
_BY_TWICE = re.compile(r"\bbyby\b|\bby by\b", re.I)  # "Written byby Ann": a hidden label's copy glued on
_GLUED_LABEL = re.compile(r"(?<=[a-z])(?=(?:Published|Updated|Posted|Last updated|Reviewed)\b)")
_BY_LINE = re.compile(r"^(?:(?:written|posted|published|reported|words|text) )?by[:\s]\s*(.+)$|^authors?:\s*(.+)$", re.I)
_PICTURE_OF = re.compile(r"^(?:(?:picture|photo|image|avatar) of (.+)|(.+?) (?:photo|avatar|picture|headshot))$", re.I)
_NAME_LINE = re.compile(r"^(?:[A-Z][\w'’.-]*|de|van|von|der|da|di|la|le)(?: (?:[A-Z][\w'’.-]*|de|van|von|der|da|di|la|le)){1,3}$")
_UPDATED = re.compile(r"^\W*(?:last )?(?:updated|modified|edited)\b", re.I)
_BY_ALONE = re.compile(r"^(?:(?:written|posted) )?by:?$", re.I)
# Named in a byline but not as its writer: "Reviewed by", "Fact-checked by", "Photos by", "Edited by".
_NOT_THE_WRITER = re.compile(r"\b(?:review(?:ed)?|(?:fact[- ]?)?checked|edited|photos?|photography|illustrat\w*|"
                             r"images?|video|produced|sponsored|powered|presented|translated)\W*(?:by)?\W*$", re.I)
_AVATAR = re.compile(r"\b(?:avatar|author|profile)\s+(?:photo|image|picture)\W*by\W*$", re.I)  # the writer's own
_READING_TIME = re.compile(r"\b\d+ min(?:ute)?s?(?: read)?\b", re.I)
NEAR_HEADLINE = 12  # lines below the headline (or above the body) where bylines and dates stand
BY_LINE_SPAN = 40  # lines below the headline where a line that says "By Ann Lee" still names the writer
BY_LINE_OVER = 3  # … and lines above it
MENU_LINES = 3  # "By …" lines this close together are a menu's


def _named_by(m: re.Match[str]) -> str | None:
    """The writer a "By …" match names, without an "@handle"."""
    from .htmlmeta import author_name

    return author_name(re.sub(r"\s*@\w+", "", next(g for g in m.groups() if g)))


def _byline_fields(lines: list[str], title_at: int | None, byline_at: int | None,
                   body_start: int) -> tuple[str | None, datetime | None]:
    """Author and publication date from the lines around the headline, as a page lays them out: a
    category, the headline, then a "By …" line or a name beside a date line, a reading time ("5 Mins
    Read"); a published date before an "Updated" one."""
    from .htmlmeta import _ROLE, author_name

    start = title_at + 1 if title_at is not None else max(0, body_start - NEAR_HEADLINE)
    end = max(body_start, min(len(lines), start + NEAR_HEADLINE))
    at = list(range(start, end))
    if byline_at is not None and not start <= byline_at < end:  # the date line above the headline
        at += [i for i in range(max(0, byline_at - 2), min(len(lines), byline_at + 3)) if not start <= i < end]
    # A line of cells ("October 8, 2024    Photo of Swoogo    Swoogo": a row the dump laid out side by
    # side) is read cell by cell, as lines.
    window = [_BY_TWICE.sub("by", _GLUED_LABEL.sub(" ", _IMAGE.sub("", _clean_line(cell))))
              for i in at for cell in (_CELLS.split(lines[i].strip()) or [""])]
    window = [t for t in window if t]  # lines apart by blank ones are beside each other on the page
    author = date = None
    dated = [k for k, t in enumerate(window) if _DATE.search(t) and len(t.split()) <= 25]
    timed = dated + [k for k, t in enumerate(window) if _READING_TIME.search(t)]
    for k in sorted(dated, key=lambda k: bool(_UPDATED.match(window[k]))):  # published before "Updated"
        if date := _parsed(_DATE.search(window[k])):
            break
    for k, t in enumerate(window):
        if _BY_ALONE.match(t) and k + 1 < len(window) and (author := author_name(window[k + 1])):
            break  # "By" on a line of its own, the name on the next
        m = _BYLINE.search(t) or _BY_LINE.match(t)
        if m and (not _NOT_THE_WRITER.search(t[:m.start(1)]) or _AVATAR.search(t[:m.start(1)])):
            author = _named_by(m)
            if author:
                break
        m = _PICTURE_OF.match(t)
        named = m and author_name(re.sub(r"['’]s$", "", m.group(1) or m.group(2)))  # "Ann Lee's avatar"
        beside_date = any(0 < d - k <= 2 or k - d == 1 for d in timed)
        if named and (k + 1 < len(window) and author_name(window[k + 1]) == named or beside_date and m.group(1)):
            author = named  # "Picture of Ann Lee" over "Ann Lee", or beside the date line
            break
        name = author_name(t) if beside_date and "|" not in t and not _DATE.search(t) \
            and not _READING_TIME.search(t) else None
        dated_at = _DATE.search(t)
        head = t[:dated_at.start()].strip(" |,-–—·•") if dated_at else ""
        if not name and head and _NAME_LINE.fullmatch(head) and not _WEEKDAY.match(head):
            name = author_name(head)  # the name and the date on one line ("Ann Lee December 9, 2024")
        if name and _NAME_LINE.match(name.split(",")[0]) and not _ROLE.fullmatch(name.split()[-1]):
            author = name  # a name on the line beside the date line or the reading time ("Ann Lee, Editor")
            break
        job = next((u for u in window[k + 1:k + 3] if u), "")
        if _NAME_LINE.match(t) and _ROLE.fullmatch(job.split()[-1] if job else "") and len(job.split()) <= 4 \
                and not _ROLE.fullmatch(t.split()[-1]) and (author := author_name(t)):
            break  # a name over its job ("Nicoletta Richardson" / "Trending Editor")
    if author is None:  # a "By Ann Lee" line just over the headline, or further down (a byline box under a
        # summary or a hero image)
        over = range(max(0, title_at - BY_LINE_OVER), title_at) if title_at is not None else range(0)
        for line in [*(lines[i] for i in over), *lines[end:start + BY_LINE_SPAN]]:
            t = _clean_line(line)
            m = _BY_LINE.match(t)
            if m and (author := _named_by(m)):
                date = date or _parsed(_DATE.search(t))  # "By Ann Lee Jan. 31, 2026 7:47 am EST"
                break
    return author, date


def _parsed(m: re.Match[str] | None) -> datetime | None:
    """The date a _DATE match reads as, or None (no match, or a date that does not exist: "February 30")."""
    try:
        return parse_date(m.group(0)) if m else None
    except ValueError:
        return None


def _author_box(lines: list[str], start: int) -> tuple[str | None, datetime | None]:
    """The writer a "By Ann Lee" or "Written by Ann Lee" line names below the headline (at start), however far
    (an author box at the end), unless "By …" lines stand together: a menu ("By industry", "By state"); and
    the date that line states ("By Ann Lee – Updated Sep 9, 2025"), if any."""
    def by_line(i: int) -> tuple[str, re.Match[str] | None]:
        if "by" not in lines[i].lower():  # most lines: no need to clean them
            return "", None
        t = _GLUED_LABEL.sub(" ", _IMAGE.sub("", _clean_line(lines[i])))
        return t, _BY_LINE.match(t)

    for i in range(start, len(lines)):
        t, m = by_line(i)
        if not m or _SENTENCE_END.search(t) and t[-2:-1].islower():
            continue  # a sentence that starts with "By"
        if any(by_line(j)[1] for j in range(max(0, i - MENU_LINES), min(len(lines), i + MENU_LINES + 1)) if j != i):
            continue
        if author := _named_by(m):
            return author, _parsed(_DATE.search(t))
    return None, None


DATE_LINE_SPAN = 80  # lines into the body where a date line still dates the page (a byline box set below)
DATE_LINE_WORDS = 8  # a date line: the date and a label ("Published:", "Posted by Ann Lee on"), no sentence


LABELLED_DATE_OVER = 30  # lines above the headline where a date labelled "Published" or "Posted on" dates the
# page; below it, anywhere (a box at the end: WCXB's article dumps, 3 more right and none wrong than 250 lines)
_LABELLED = re.compile(r"^\W*(?:(?:first )?published|posted|released)\b\W*(?:on|at)?\W*", re.I)


def _labelled_date(lines: list[str], start: int, end: int) -> datetime | None:
    """The first date labelled as the publication ("Published: Nov. 19, 2025", "Posted on April 13, 2023"):
    a page that sets its date line far from its headline still labels it."""
    for line in lines[start:end]:
        t = " ".join(_clean_line(line).split())
        m = _LABELLED.match(t)
        if m and (when := _parsed(_DATE.match(t, m.end()))):
            return when
    return None


def _date_line(lines: list[str], start: int, end: int) -> datetime | None:
    """The first line from the headline on that is a date and little else, one not labelled an update
    first: the page's own date where no byline stands by the headline (a dump's headline is sometimes
    not found, or its byline sits further down)."""
    updated = None
    for line in lines[start:end]:
        t = _clean_line(line)
        if len(t.split()) <= DATE_LINE_WORDS and (when := _parsed(_DATE.search(t))):
            if not _UPDATED.match(t):
                return when
            updated = updated or when
    return updated


_CRUMB = re.compile(r"\s*[»>›/]\s*|\s+\|\s+")


def _crumbs(text: str) -> list[str]:
    """The parts of a breadcrumb trail ("Home » World » Title", "Home >World >Title", "Blog / Title"),
    else []."""
    parts = [p.strip() for p in _CRUMB.split(text)]
    return parts if len(parts) >= 2 and parts[0].lower() in {"home", "news", "blog"} and all(parts) else []


def _category(lines: list[str], title_at: int) -> str | None:
    texts = [_clean_line(l) for l in lines]
    title = texts[title_at]
    for t in texts:
        parts = _crumbs(t)
        if len(parts) >= 3 and parts[-1] == title:  # "Home » World » Title"
            return "/".join(parts[1:-1])
    for i in range(title_at - 1, max(-1, title_at - 4), -1):
        t = texts[i]
        if not t:
            continue
        menu_items = {_clean_line(l) for l in lines if _BULLET.match(l)}
        if 1 <= len(t.split()) <= 3 and t in menu_items:
            return t
        break
    return None


def _site(lines: list[str]) -> str | None:
    counts: dict[str, int] = {}
    for l in lines:
        m = re.match(r"^\s*([^|]{2,40}?)\s+\|\s+\S", l)
        if m:
            counts[m.group(1)] = counts.get(m.group(1), 0) + 1
    repeated = [name for name, c in counts.items() if c >= 2]
    return repeated[0] if repeated else None


def site_template(pages: list[str], min_pages: int = 3, share: float = 0.5) -> frozenset[str]:
    """Blocks that many pages of one site repeat (menus, newsletter boxes, footers): template, not article.

    A block counts when at least min_pages distinct pages and `share` of them hold it; copies of one story
    count once. Long prose blocks never count: two versions of one story share those, and they are the
    article.
    """
    counts: Counter[str] = Counter()
    seen: set[str] = set()
    for text in pages:
        blocks = _blocks(_lines(text))
        story = max((b.text for b in blocks), key=len, default="")  # copies share their longest paragraph
        if story in seen:
            continue
        seen.add(story)
        counts.update({b.text for b in blocks if b.text and (b.words <= 40 or not b.is_prose())})
    need = max(min_pages, share * len(seen))
    return frozenset(t for t, c in counts.items() if c >= need)


def _lines(text: str) -> list[str]:
    return [l.rstrip() for l in text.replace("\r\n", "\n").replace("\r", "\n").split("\n")]


def pagedump_to_article(text: str, url: str | None = None, source: str = "<input>",
                        template: frozenset[str] = frozenset()) -> Article:
    """One page dump -> Article. template: blocks the site repeats on many pages (site_template).
    Raises ValueError when no article text is found."""
    lines = _lines(text)
    blocks = _blocks(lines)
    boxes = _boxes(blocks)
    first, last = _body_span(blocks, template, boxes)
    first = _after_dateline(blocks, first, last)
    if last >= first:
        body_blocks = [b for k, b in enumerate(blocks[first:last + 1], start=first)
                       if b.text not in template and k not in boxes and (b.is_prose() or (
                           not b.is_list() and not _is_junk_row(b.text) and b.words <= 15 and first < k < last))]
    else:
        # No prose at all (a list, a few short lines): the lines of several words are all there is.
        body_blocks = [b for b in blocks if b.text not in template and not _is_junk_row(b.text)
                       and b.words >= 3 * len(b.lines)]
        if not body_blocks and 0 < sum(b.words for b in blocks) <= TINY_PAGE_WORDS:
            # A page of a few words has nothing around them to leave out; but a menu is no article.
            body_blocks = [b for b in blocks if not b.is_list()]
        if not body_blocks:
            raise ValueError("no article text found in the page dump")
        first = blocks.index(body_blocks[0])
    body_start = blocks[first].start
    byline_at = _find_byline(lines, body_start)
    title_at = _find_title(lines, body_start, byline_at, template, slug_words(url))
    author, date = _byline_fields(lines, title_at, byline_at, body_start)
    if author is None:
        author, box_date = _author_box(lines, title_at if title_at is not None else body_start)
        date = date or box_date
    if date is None:
        date = _date_line(lines, min(title_at or 0, body_start), body_start + DATE_LINE_SPAN)
    if date is None:
        date = _labelled_date(lines, max(0, min(title_at or 0, body_start) - LABELLED_DATE_OVER), len(lines))
    return make_article(
        title=_headline(lines, title_at) if title_at is not None else None,
        body="\n\n".join(drop_repeated_runs([b.text for b in body_blocks])), url=url, date=date,
        categories=[c] if title_at is not None and (c := _category(lines, title_at)) else [],
        authors=[author] if author else [], site=_site(lines), source=source,
    )


TEMPLATE_SAMPLE = 200  # sibling dumps read to learn a site's template: enough to see what repeats


def template_for(path: str | Path) -> frozenset[str]:
    """The site template a dump at `path` is read with: its folder's (folder_template)."""
    return folder_template(str(Path(path).resolve().parent))


@lru_cache(maxsize=64)
def folder_template(folder: str) -> frozenset[str]:
    """The template of the site whose dumps share this folder (an archive keeps a site's pages together):
    learnt once per folder and process from up to TEMPLATE_SAMPLE of its dumps."""
    try:
        names = sorted(p for p in Path(folder).iterdir() if p.is_file() and decide_format(p) is BY_NAME["pagedump"])
    except OSError:
        return frozenset()
    if len(names) < 3:
        return frozenset()
    pages = []
    for path in names[:TEMPLATE_SAMPLE]:
        try:
            pages.append(decode_text(read_bytes(path)))
        except (OSError, ValueError):
            continue
    return site_template(pages)


def read_pagedump(data: bytes, source: str) -> Iterator[Article | Problem]:
    try:
        yield pagedump_to_article(decode_text(data), source=source, template=template_for(source))
    except ValueError as exc:
        yield Problem(source, str(exc))
