"""Business hours and the availability decision (pure, with fixed clocks)."""

from __future__ import annotations

from datetime import date, datetime, timezone
from zoneinfo import ZoneInfo

import pytest
from pydantic import ValidationError

from handoff.availability import (
    AvailabilityState,
    BusinessHours,
    BusinessHoursSettings,
    decide,
    describe_opening,
)
from tier1.settings import SettingsError, settings_from_dict

pytestmark = pytest.mark.unit

BERLIN = ZoneInfo("Europe/Berlin")
SECRETS = {"jwt_secret": "j" * 20, "internal_token": "i" * 20, "rasa_token": "r" * 20}


def hours(**kw) -> BusinessHours:
    return BusinessHours(BusinessHoursSettings(**kw))


OFFICE = {
    "timezone": "Europe/Berlin",
    "schedule": {"mon-fri": "09:00-17:00", "sat": ["10:00-12:00", "13:00-14:00"]},
}


def at(y, m, d, hh, mm, tz=BERLIN) -> datetime:
    return datetime(y, m, d, hh, mm, tzinfo=tz)


def test_no_schedule_is_always_open():
    h = hours()
    assert h.always_open
    assert h.is_open(datetime(2026, 12, 25, 3, 0, tzinfo=timezone.utc))


@pytest.mark.parametrize(
    ("moment", "open_"),
    [
        (at(2026, 11, 30, 9, 0), True),  # Monday at opening
        (at(2026, 11, 30, 16, 59), True),
        (at(2026, 11, 30, 17, 0), False),  # closing time is exclusive
        (at(2026, 11, 30, 8, 59), False),
        (at(2026, 12, 5, 12, 30), False),  # Saturday lunch break
        (at(2026, 12, 5, 13, 30), True),
        (at(2026, 12, 6, 11, 0), False),  # Sunday is not named: closed
        # 08:30 UTC is 09:30 in Berlin (winter time)
        (datetime(2026, 11, 30, 8, 30, tzinfo=timezone.utc), True),
    ],
)
def test_weekly_schedule_in_its_time_zone(moment, open_):
    assert hours(**OFFICE).is_open(moment) is open_


def test_holidays_are_closed_all_day_and_next_opening_skips_them():
    h = hours(**OFFICE, holidays=[date(2026, 12, 25)])
    assert not h.is_open(at(2026, 12, 25, 10, 0))
    # Thursday 24 Dec 18:00 -> Friday is a holiday, Saturday opens at 10:00
    assert h.next_opening(at(2026, 12, 24, 18, 0)) == at(2026, 12, 26, 10, 0)


def test_next_opening_over_the_weekend_and_within_the_day():
    h = hours(**OFFICE)
    assert h.next_opening(at(2026, 12, 5, 15, 0)) == at(2026, 12, 7, 9, 0)  # Sat -> Mon
    assert h.next_opening(at(2026, 12, 5, 12, 15)) == at(2026, 12, 5, 13, 0)  # after lunch
    assert h.next_opening(at(2026, 11, 30, 10, 0)) == at(2026, 11, 30, 10, 0)  # open now


def test_a_schedule_that_never_opens_has_no_next_opening():
    h = hours(schedule={"mon-sun": "closed"})
    assert not h.is_open(at(2026, 11, 30, 10, 0))
    assert h.next_opening(at(2026, 11, 30, 10, 0)) is None


def test_describe_opening():
    now = at(2026, 12, 5, 15, 0)  # Saturday
    assert (
        describe_opening(at(2026, 12, 7, 9, 0), now, "Europe/Berlin")
        == "Monday 09:00 (Europe/Berlin)"
    )
    assert describe_opening(at(2026, 12, 5, 16, 0), now, "UTC") == "today at 16:00 (UTC)"
    assert describe_opening(at(2026, 12, 6, 9, 0), now, "UTC") == "tomorrow at 09:00 (UTC)"
    assert describe_opening(at(2026, 12, 21, 9, 0), now, "UTC") == "Monday 21 December 09:00 (UTC)"
    assert describe_opening(None, now, "UTC") == "as soon as we can"


def test_decide_closed_beats_presence():
    a = decide(at(2026, 12, 5, 15, 0), hours(**OFFICE), agents_online=3, free_capacity=9)
    assert a.state is AvailabilityState.CLOSED
    assert a.next_open == at(2026, 12, 7, 9, 0)
    assert not a.person_available


def test_decide_open_without_agents():
    a = decide(at(2026, 11, 30, 10, 0), hours(**OFFICE), agents_online=0, free_capacity=0)
    assert a.state is AvailabilityState.NO_AGENTS_ONLINE and a.next_open is None


def test_decide_open_with_agents_and_the_expected_wait():
    h, now = hours(**OFFICE), at(2026, 11, 30, 10, 0)
    free_seat = decide(
        now, h, agents_online=2, free_capacity=1, queue_position=1, median_first_reply_seconds=60
    )
    assert free_seat.state is AvailabilityState.OPEN_WITH_AGENTS
    assert free_seat.expected_wait_seconds == 60
    # 4 chats ahead of the free seats, shared by 2 agents: 1 + 4/2 median replies
    busy = decide(
        now, h, agents_online=2, free_capacity=1, queue_position=5, median_first_reply_seconds=60
    )
    assert busy.expected_wait_seconds == 180
    unknown = decide(now, h, agents_online=1, free_capacity=0)
    assert unknown.person_available and unknown.expected_wait_seconds is None


@pytest.mark.parametrize(
    ("section", "names"),
    [
        ({"timezone": "Europe/Berlinn"}, "Europe/Berlinn"),
        ({"schedule": {"mon-fry": "09:00-17:00"}}, "mon-fry"),
        ({"schedule": {"mon": "9-17"}}, "'9-17'"),
        ({"schedule": {"mon": "17:00-09:00"}}, "ends before it starts"),
        ({"schedule": {"mon": "25:00-26:00"}}, "impossible time"),
        ({"schedule": {"mon-fri": "09:00-17:00", "fri": "10:00-11:00"}}, "fri is in both"),
        ({"holidays": ["next tuesday"]}, "holidays"),
        ({"opening": "always"}, "business_hours.opening"),
        ({"nobody_online": "panic"}, "nobody_online"),
    ],
)
def test_bad_business_hours_are_refused_at_start_up_naming_the_problem(section, names):
    with pytest.raises(SettingsError) as e:
        settings_from_dict({"handoff": {"business_hours": section}}, SECRETS)
    assert names in str(e.value)
    assert "handoff.business_hours" in str(e.value)


def test_business_hours_from_config():
    s = settings_from_dict(
        {
            "handoff": {
                "business_hours": {**OFFICE, "holidays": ["2026-12-25"], "nobody_online": "offline"}
            }
        },
        SECRETS,
    )
    bh = s.handoff.business_hours
    assert bh.holidays == [date(2026, 12, 25)] and bh.nobody_online.value == "offline"
    assert settings_from_dict({}, SECRETS).handoff.business_hours.schedule is None  # always open


def test_settings_are_immutable():
    with pytest.raises((TypeError, ValidationError)):
        BusinessHoursSettings().timezone = "UTC"
