"""Erlang C: the M/M/N queue contact centres plan their staff with (no Flask, no database).

The formulas as in Gans, Koole and Mandelbaum, "Telephone call centers: tutorial, review, and
research prospects", Manufacturing & Service Operations Management 5(2), 2003, section 4.1:
P(wait) = C(N, A), service level P(W <= t) = 1 - C(N, A) * exp(-(N - A) * t / AHT),
average speed of answer ASA = C(N, A) * AHT / (N - A), with A = arrivals x AHT in erlangs.
"""

import math
from dataclasses import dataclass


def traffic_erlangs(calls_per_hour: float, handle_seconds: float) -> float:
    """Return the offered load in erlangs: arrivals per second times the handle time."""
    return calls_per_hour / 3600 * handle_seconds


def erlang_c(agents: int, traffic: float) -> float:
    """Return the probability that a caller waits (Erlang C) with `agents` for `traffic` erlangs.

    1.0 when the agents cannot carry the load (N <= A: the queue grows without end).
    """
    if traffic <= 0:
        return 0.0
    if agents <= traffic:
        return 1.0
    # Erlang B by its stable recurrence, then C = B / (1 - rho * (1 - B))
    blocking = 1.0
    for n in range(1, agents + 1):
        blocking = traffic * blocking / (n + traffic * blocking)
    rho = traffic / agents
    return blocking / (1 - rho * (1 - blocking))


def service_level(
    agents: int, traffic: float, handle_seconds: float, target_seconds: float
) -> float:
    """Return the share of callers answered within `target_seconds`."""
    if traffic <= 0:
        return 1.0
    if agents <= traffic:
        return 0.0
    waits = erlang_c(agents, traffic)
    return 1 - waits * math.exp(-(agents - traffic) * target_seconds / handle_seconds)


def average_speed_of_answer(agents: int, traffic: float, handle_seconds: float) -> float:
    """Return the mean wait of all callers in seconds (infinite when the load is not carried)."""
    if traffic <= 0:
        return 0.0
    if agents <= traffic:
        return math.inf
    return erlang_c(agents, traffic) * handle_seconds / (agents - traffic)


@dataclass(frozen=True)
class Staffing:
    agents: int
    waiting_probability: float
    service_level: float
    speed_of_answer: float
    occupancy: float


def agents_needed(
    calls_per_hour: float,
    handle_seconds: float,
    target_seconds: float = 20,
    target_level: float = 0.8,
    limit: int = 1000,
) -> Staffing:
    """Return the fewest agents that answer `target_level` of calls within `target_seconds`."""
    traffic = traffic_erlangs(calls_per_hour, handle_seconds)
    agents = max(1, math.floor(traffic) + 1) if traffic > 0 else 0
    while agents < limit and (
        service_level(agents, traffic, handle_seconds, target_seconds) < target_level
    ):
        agents += 1
    return Staffing(
        agents=agents,
        waiting_probability=erlang_c(agents, traffic) if agents else 0.0,
        service_level=service_level(agents, traffic, handle_seconds, target_seconds)
        if agents
        else 1.0,
        speed_of_answer=average_speed_of_answer(agents, traffic, handle_seconds) if agents else 0.0,
        occupancy=traffic / agents if agents else 0.0,
    )
