"""Commissioning leads come and go: each team's lead, their departures, interim cover, handovers.

Why: DOMAIN.md's first cause of lost memory is commissioner churn; every departure here writes a
`HandedOver` (a whole portfolio, or only the live agreements, leaving old files behind) with the
kind of notes people actually leave, and the next departure is scheduled.
"""

from __future__ import annotations

import datetime as dt

from infra.generator import desk, texts
from infra.generator.world import World


def start_team(w: World, day: dt.date, team_key: str, lead: str | None = None) -> str:
    """Give a team its first lead (a new person unless named) and schedule their departure."""
    team = w.teams[team_key]
    team.lead = lead or w.new_person(w.mail_of(team_key))
    w.lead_history.setdefault(team_key, []).append((day, team.lead))
    _schedule_departure(w, day, team_key)
    return team.lead


def _schedule_departure(w: World, day: dt.date, team_key: str) -> None:
    years = w.rng.uniform(1.3, 6.5)
    w.at(
        day + dt.timedelta(days=int(years * 365)),
        depart,
        team_key,
        w.teams[team_key].lead,
        priority=4,
    )


def depart(w: World, day: dt.date, team_key: str, lead: str) -> None:
    """The team's lead leaves; someone (perhaps an interim) takes the portfolio."""
    team = w.teams[team_key]
    if team.lead != lead or not team.active(day) or not w.commissioner_of(team_key).active(day):
        return
    rng = w.rng
    mail = w.mail_of(team_key)
    interim = rng.random() < 0.18
    successor = w.new_person(mail)
    reason = texts.say(rng, texts.HANDOVER_CHURN)
    notes = texts.say(rng, texts.HANDOVER_NOTES)
    comm = team.commissioner_id
    open_ones = [a for a in w.holdings.get(lead, {}) if not w.deals[a].ended]
    if rng.random() < 0.25 and open_ones:
        desk.hand_over(
            w,
            day,
            lead,
            successor,
            agreements=open_ones,
            rationale=reason,
            notes=notes + " Ended agreements stay filed under the previous lead.",
            from_commissioner=comm,
            to_commissioner=comm,
        )
    else:
        desk.hand_over(
            w,
            day,
            lead,
            successor,
            rationale=reason,
            notes=notes,
            from_commissioner=comm,
            to_commissioner=comm,
        )
    team.lead = successor
    w.lead_history.setdefault(team_key, []).append((day, successor))
    _adopt_orphans(w, day, team_key, lead, successor)
    if interim:
        w.at(
            day + dt.timedelta(days=rng.randint(60, 240)),
            end_interim,
            team_key,
            successor,
            priority=4,
        )
    else:
        _schedule_departure(w, day, team_key)


def end_interim(w: World, day: dt.date, team_key: str, interim: str) -> None:
    """A permanent appointment replaces the interim cover."""
    team = w.teams[team_key]
    if team.lead != interim or not team.active(day) or not w.commissioner_of(team_key).active(day):
        return
    permanent = w.new_person(w.mail_of(team_key))
    desk.hand_over(
        w,
        day,
        interim,
        permanent,
        rationale="permanent lead appointed; interim cover ends",
        notes="Interim cover only: decisions during the vacancy were "
        "the minimum needed to keep services running.",
        from_commissioner=team.commissioner_id,
        to_commissioner=team.commissioner_id,
    )
    team.lead = permanent
    w.lead_history.setdefault(team_key, []).append((day, permanent))
    _schedule_departure(w, day, team_key)


def _adopt_orphans(w: World, day: dt.date, team_key: str, old: str, new: str) -> None:
    """Sometimes the newcomer finds agreements nobody answers for and takes them on."""
    orphans = [d.id for d in w.deals.values() if d.team == team_key and d.holder is None and d.open]
    if orphans and w.rng.random() < 0.35:
        desk.hand_over(
            w,
            day,
            old,
            new,
            agreements=orphans[:3],
            rationale="agreement found with no responsible lead; adopted by the incoming lead",
            notes="Nobody had been named as responsible since the "
            "award. Provider confirmed the service is still running.",
        )
