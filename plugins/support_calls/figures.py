"""The merchant's call figures for the dashboard's overview: calls today and this week,
hand-offs, voice-to-voice latency, and calls and latency per day, in the merchant's time
zone. Each is one SQL query over the period's rows."""

from __future__ import annotations

import statistics
from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select

from merchant_voice.plugin_api import TenantSession, utcnow
from plugins.support_calls.models import Call, Outcome, Turn

CHART_DAYS = 14


@dataclass(frozen=True)
class Day:
    day: date
    calls: int
    median_latency_ms: int | None


@dataclass(frozen=True)
class CallFigures:
    calls_today: int
    calls_week: int
    handoffs_week: int
    median_latency_ms: int | None  # this week's answered turns, voice to voice
    days: list[Day]  # the last CHART_DAYS days, oldest first


def day_start(day: date, zone: ZoneInfo) -> datetime:
    """Midnight of ``day`` in ``zone``, as a UTC instant."""
    return datetime.combine(day, time(), zone).astimezone(ZoneInfo("UTC"))


def figures(session: TenantSession, now: datetime | None = None) -> CallFigures:
    zone = ZoneInfo(session.merchant.timezone)
    today = (now or utcnow()).astimezone(zone).date()
    first = today - timedelta(days=CHART_DAYS - 1)
    week_start = today - timedelta(days=today.weekday())  # Monday

    def local_day(moment: datetime) -> date:
        return moment.astimezone(zone).date()

    since = day_start(min(first, week_start), zone)
    calls = session.execute(
        select(Call.started_at, Call.outcome).where(Call.started_at >= since)
    ).all()
    per_day = Counter(local_day(started) for started, _ in calls)
    handoffs = sum(
        1
        for started, outcome in calls
        if outcome == Outcome.HANDED_OFF.value and local_day(started) >= week_start
    )
    latencies: dict[date, list[int]] = defaultdict(list)
    turns = session.execute(
        select(Turn.started_at, Turn.first_audio_ms).where(
            Turn.started_at >= since, Turn.first_audio_ms.is_not(None), Turn.source != "greeting"
        )
    )
    for started, latency in turns:
        if latency is not None:
            latencies[local_day(started)].append(latency)
    week = [v for day, values in latencies.items() if day >= week_start for v in values]
    days = [first + timedelta(days=n) for n in range(CHART_DAYS)]
    return CallFigures(
        calls_today=per_day[today],
        calls_week=sum(count for day, count in per_day.items() if day >= week_start),
        handoffs_week=handoffs,
        median_latency_ms=round(statistics.median(week)) if week else None,
        days=[
            Day(
                day,
                per_day[day],
                round(statistics.median(latencies[day])) if latencies[day] else None,
            )
            for day in days
        ],
    )
