"""Whether a person can take a chat now: business hours, presence and the queue.

Pure: no I/O. `BusinessHoursSettings` is the ``handoff.business_hours`` section of config.yml
(time zone checked against the IANA database at start-up, unknown keys refused);
`BusinessHours` answers "open now?" and "when do we open next?"; `decide` turns a moment, the
agents' presence and the queue into one `Availability` the chat can say honestly.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from enum import Enum
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, Field, validator

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
DAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
_RANGE = re.compile(r"^\s*(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})\s*$")
# How far ahead `next_opening` looks: a year of holidays plus a week.
_LOOKAHEAD_DAYS = 373


class NobodyOnline(str, Enum):
    """What a handoff does inside business hours when no agent is online."""

    QUEUE = "queue"  # queue as usual; the first agent to come online takes it
    OFFLINE = "offline"  # say so and offer to leave a message (like outside business hours)


def _parse_days(key: str) -> list[int]:
    """``mon-fri``, ``sat,sun``, ``wed`` -> weekday numbers (Monday 0)."""
    days: list[int] = []
    for part in key.lower().replace(" ", "").split(","):
        ends = part.split("-")
        if len(ends) > 2 or any(e not in DAYS for e in ends):
            raise ValueError(
                f"{key!r} is not a day or day range; use mon, tue, wed, thu, fri, sat, sun, "
                "a range like mon-fri, or a list like sat,sun"
            )
        first, last = DAYS.index(ends[0]), DAYS.index(ends[-1])
        if last < first:
            raise ValueError(f"{key!r} runs backwards; write the days in week order (mon-fri)")
        days.extend(range(first, last + 1))
    return days


def _parse_range(text: str, key: str) -> tuple[time, time | None]:
    """``"09:00-17:00"`` -> (09:00, 17:00); an end of 24:00 is returned as None (midnight)."""
    m = _RANGE.match(text)
    if not m:
        raise ValueError(f'{key}: {text!r} is not a range like "09:00-17:00"')
    h1, m1, h2, m2 = (int(g) for g in m.groups())
    if h1 > 23 or m1 > 59 or h2 > 24 or m2 > 59 or (h2 == 24 and m2):
        raise ValueError(f"{key}: {text!r} has an impossible time; use 00:00 to 24:00")
    start, end = time(h1, m1), None if h2 == 24 else time(h2, m2)
    if end is not None and end <= start:
        raise ValueError(
            f"{key}: {text!r} ends before it starts; ranges past midnight are two entries "
            '(e.g. fri: "22:00-24:00" and sat: "00:00-02:00")'
        )
    return start, end


class BusinessHoursSettings(BaseModel):
    """``handoff.business_hours``: when people answer chats. No schedule: always open.

    ``schedule`` maps days (``mon``, ``mon-fri``, ``sat,sun``) to a range ``"09:00-17:00"``, a
    list of ranges, or ``closed``; days it does not name are closed. ``holidays`` are dates
    closed all day. Times are in ``timezone`` (an IANA name such as Europe/Berlin).
    """

    class Config:
        """Pydantic options: unknown keys are errors, values read-only."""

        extra = "forbid"
        allow_mutation = False

    timezone: str = "UTC"
    schedule: dict[str, str | list[str]] | None = None
    holidays: list[date] = Field(default_factory=list)
    nobody_online: NobodyOnline = NobodyOnline.QUEUE

    @validator("timezone")
    def _known_zone(cls, v: str) -> str:
        try:
            ZoneInfo(v)
        except (ZoneInfoNotFoundError, ValueError) as e:
            raise ValueError(
                f"{v!r} is not a time zone this machine knows; use an IANA name such as "
                "Europe/Berlin or America/New_York (install tzdata if none is known)"
            ) from e
        return v

    @validator("schedule")
    def _valid_schedule(cls, v: dict | None) -> dict | None:
        if v is not None:
            _weekly(v)  # raises ValueError naming the bad entry
        return v


def _weekly(schedule: dict[str, str | list[str]]) -> dict[int, list[tuple[time, time | None]]]:
    week: dict[int, list[tuple[time, time | None]]] = {d: [] for d in range(7)}
    named: dict[int, str] = {}
    for key, value in schedule.items():
        ranges = [value] if isinstance(value, str) else list(value)
        parsed = [] if ranges == ["closed"] else [_parse_range(r, key) for r in ranges]
        for day in _parse_days(key):
            if day in named:
                raise ValueError(
                    f"{DAYS[day]} is in both {named[day]!r} and {key!r}; name each day once"
                )
            named[day] = key
            week[day] = sorted(parsed)
    return week


class BusinessHours:
    """The opening hours of `BusinessHoursSettings`, asked with tz-aware datetimes."""

    def __init__(self, settings: BusinessHoursSettings) -> None:
        self.settings = settings
        self.zone = ZoneInfo(settings.timezone)
        self._week = None if settings.schedule is None else _weekly(settings.schedule)
        self._holidays = set(settings.holidays)

    @property
    def always_open(self) -> bool:
        """True when there is no schedule and no holiday."""
        return self._week is None and not self._holidays

    def _ranges(self, day: date) -> list[tuple[time, time | None]]:
        if day in self._holidays:
            return []
        if self._week is None:
            return [(time(0, 0), None)]
        return self._week[day.weekday()]

    def is_open(self, now: datetime) -> bool:
        """True when ``now`` (tz-aware) falls inside an opening range."""
        local = now.astimezone(self.zone)
        t = local.time().replace(tzinfo=None)
        return any(
            start <= t and (end is None or t < end) for start, end in self._ranges(local.date())
        )

    def next_opening(self, now: datetime) -> datetime | None:
        """The next moment at or after ``now`` the team is open (local time).

        None when the schedule never opens within a year.
        """
        local = now.astimezone(self.zone)
        if self.is_open(now):
            return local
        for offset in range(_LOOKAHEAD_DAYS):
            day = local.date() + timedelta(days=offset)
            for start, _end in self._ranges(day):
                candidate = datetime.combine(day, start, tzinfo=self.zone)
                if candidate >= local:
                    return candidate
        return None


class AvailabilityState(str, Enum):
    """Whether a person can take a chat now, and if not, why."""

    OPEN_WITH_AGENTS = "open_with_agents"  # hand off as usual
    NO_AGENTS_ONLINE = "no_agents_online"  # open, but nobody is there
    CLOSED = "closed"  # outside business hours or a holiday


@dataclass(frozen=True)
class Availability:
    """What `decide` found. ``next_open`` is local to the business hours' zone."""

    state: AvailabilityState
    next_open: datetime | None = None
    expected_wait_seconds: float | None = None  # OPEN_WITH_AGENTS only; None: not known
    timezone: str = "UTC"

    @property
    def person_available(self) -> bool:
        """True when the team is open and an agent is online."""
        return self.state is AvailabilityState.OPEN_WITH_AGENTS


def decide(
    now: datetime,
    hours: BusinessHours,
    *,
    agents_online: int,
    free_capacity: int,
    queue_position: int = 1,
    median_first_reply_seconds: float | None = None,
) -> Availability:
    """Whether a person can take a chat that joins the queue at ``queue_position`` now.

    Closed hours win over presence (an agent online at night does not open the desk). When
    open with agents, the expected wait is the median time to a first reply if someone has a
    free seat, else that median times the chats ahead per online agent; None if no median is
    known (say "a few minutes").
    """
    tz = hours.settings.timezone
    if not hours.is_open(now):
        return Availability(AvailabilityState.CLOSED, hours.next_opening(now), timezone=tz)
    if agents_online <= 0:
        return Availability(AvailabilityState.NO_AGENTS_ONLINE, timezone=tz)
    wait = None
    if median_first_reply_seconds is not None:
        ahead = max(0, queue_position - free_capacity)
        rounds = 1 + ahead / agents_online
        wait = round(median_first_reply_seconds * rounds, 1)
    return Availability(AvailabilityState.OPEN_WITH_AGENTS, expected_wait_seconds=wait, timezone=tz)


def describe_opening(next_open: datetime | None, now: datetime, timezone: str) -> str:
    """``"Monday 09:00 (Europe/Berlin)"``, ``"today at 13:00 (UTC)"``, ``"tomorrow at ..."``."""
    if next_open is None:
        return "as soon as we can"
    local_now = now.astimezone(next_open.tzinfo)
    days = (next_open.date() - local_now.date()).days
    clock = next_open.strftime("%H:%M")
    if days == 0:
        when = f"today at {clock}"
    elif days == 1:
        when = f"tomorrow at {clock}"
    elif days < 7:
        when = f"{DAY_NAMES[next_open.weekday()]} {clock}"
    else:
        when = (
            f"{DAY_NAMES[next_open.weekday()]} {next_open.day} {next_open.strftime('%B')} {clock}"
        )
    return f"{when} ({timezone})"


__all__ = [
    "Availability",
    "AvailabilityState",
    "BusinessHours",
    "BusinessHoursSettings",
    "NobodyOnline",
    "decide",
    "describe_opening",
]
