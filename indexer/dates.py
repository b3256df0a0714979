"""Publication dates as they come in exports and pages -> tz-aware UTC datetimes."""
from __future__ import annotations

import email.utils
import re
from datetime import datetime, timezone

from dateutil import parser as dateutil_parser

_DEFAULT = datetime(2000, 1, 1)
MONTHS = (r"(?:Jan(?:uary)?|Feb(?:ruary)?|Mar(?:ch)?|Apr(?:il)?|May|June?|July?|Aug(?:ust)?|"
          r"Sep(?:t(?:ember)?)?|Oct(?:ober)?|Nov(?:ember)?|Dec(?:ember)?)")
# A date as pages write it for people: "June 2, 2025", "2 June 2025", "2025-06-02", "6/2/2025", "02.06.2025".
DATE_IN_TEXT = re.compile(
    rf"(?:{MONTHS}\.?\s+\d{{1,2}}(?:st|nd|rd|th)?,?\s+\d{{4}}"  # June 2, 2025
    rf"|\d{{1,2}}(?:st|nd|rd|th)?\s+{MONTHS}\.?,?\s+\d{{4}}"  # 2 June 2025
    r"|\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2})?(?:Z|[+-]\d{2}:?\d{2})?)?"  # 2025-06-02
    r"|\d{1,2}/\d{1,2}/\d{4}"  # 6/2/2025
    r"|\b\d{1,2}\.\d{1,2}\.\d{4}\b)"  # 02.06.2025: day first, as everywhere dates are written with dots
)
_DOTTED = re.compile(r"\d{1,2}\.\d{1,2}\.\d{4}\b")
_MIN_YEAR, _MAX_YEAR = 1800, 2200  # outside this a "date" is a typo or an id, not a publication date


def parse_date(value: object) -> datetime | None:
    """Parse ISO 8601, RFC 822 (RSS pubDate), epoch seconds/milliseconds or free text ("June 2, 2025").

    Returns None for an empty value; raises ValueError naming the value when it is not a date.
    Naive values are taken as UTC.
    """
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        dt = value
    elif isinstance(value, bool):
        raise ValueError(f"not a date: {value!r}")
    elif isinstance(value, (int, float)):
        dt = _from_epoch(float(value))
    elif isinstance(value, str):
        dt = _from_text(value.strip())
    else:
        raise ValueError(f"not a date: {str(value)[:60]!r}")
    dt = dt.astimezone(timezone.utc) if dt.tzinfo else dt.replace(tzinfo=timezone.utc)
    if not _MIN_YEAR <= dt.year <= _MAX_YEAR:
        raise ValueError(f"date out of range: {str(value)[:60]!r}")
    return dt


def _from_epoch(seconds: float) -> datetime:
    if seconds > 1e11:  # milliseconds
        seconds /= 1000.0
    try:
        return datetime.fromtimestamp(seconds, tz=timezone.utc)
    except (OverflowError, OSError, ValueError):
        raise ValueError(f"not a date: {seconds!r}") from None


def _from_text(text: str) -> datetime:
    if not text:
        raise ValueError("empty date")
    if re.fullmatch(r"-?\d{9,13}(\.\d+)?", text):
        return _from_epoch(float(text))
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        pass
    try:
        dt = email.utils.parsedate_to_datetime(text)
        if dt is not None:
            return dt
    except (TypeError, ValueError, IndexError):
        pass
    try:
        return dateutil_parser.parse(text, default=_DEFAULT, dayfirst=bool(_DOTTED.match(text)))
    except (ValueError, OverflowError, TypeError) as exc:
        raise ValueError(f"not a date: {text[:60]!r}") from exc


_STATED_DAY = re.compile(r"^\s*(\d{4})-(\d{2})-(\d{2})")


def local_day(value: object) -> str | None:
    """The calendar day a date states in its own time zone ("2025-06-02T23:30:00-05:00" -> "2025-06-02",
    which in UTC is the 3rd); None when it is not a date."""
    if isinstance(value, str) and (m := _STATED_DAY.match(value)):
        return f"{m[1]}-{m[2]}-{m[3]}"
    try:
        dt = _from_text(value.strip()) if isinstance(value, str) else value
    except ValueError:
        return None
    return dt.date().isoformat() if isinstance(dt, datetime) else None
