"""Erlang C against published figures.

- The issue's figures: 100 calls an hour, 180 s handle time (5 erlangs), target 20 s; the same
  figures any Erlang C calculator gives (e.g. the Call Centre Helper calculator).
- Mitan Ltd's worked example of the Erlang-C formula ("The Erlang-C formula", mitan.co.uk):
  360 calls per half hour of 4 minutes with 55 agents, target 15 s: traffic 48 erlangs,
  probability of waiting 24 %, average speed of answer 8.2 s, service level 85 %.
- M/M/1 in closed form (Kleinrock, Queueing Systems vol. 1, 1975, section 3.2): one server at
  load rho waits with probability rho and the mean wait is rho / (1 - rho) service times.
"""

import math

import pytest

from reports.services.erlang import (
    agents_needed,
    average_speed_of_answer,
    erlang_c,
    service_level,
    traffic_erlangs,
)


@pytest.mark.parametrize(
    ("agents", "waits", "level", "speed"), [(7, 0.324, 0.740, 29.2), (6, 0.588, 0.474, 105.8)]
)
def test_five_erlangs_match_the_published_figures(agents, waits, level, speed):
    traffic = traffic_erlangs(100, 180)
    assert traffic == pytest.approx(5.0)
    assert round(erlang_c(agents, traffic), 3) == waits
    assert round(service_level(agents, traffic, 180, 20), 3) == level
    assert round(average_speed_of_answer(agents, traffic, 180), 1) == speed


def test_mitan_worked_example():
    traffic = traffic_erlangs(720, 240)
    assert traffic == pytest.approx(48.0)
    assert erlang_c(55, traffic) == pytest.approx(0.24, abs=0.005)
    assert average_speed_of_answer(55, traffic, 240) == pytest.approx(8.2, abs=0.05)
    assert service_level(55, traffic, 240, 15) == pytest.approx(0.85, abs=0.005)


@pytest.mark.parametrize("rho", [0.1, 0.5, 0.9])
def test_one_agent_is_the_closed_form_m_m_1(rho):
    assert erlang_c(1, rho) == pytest.approx(rho)
    assert average_speed_of_answer(1, rho, 100) == pytest.approx(rho / (1 - rho) * 100)


def test_overload_and_no_load():
    assert erlang_c(5, 5.0) == 1.0 and service_level(5, 5.0, 180, 20) == 0.0
    assert math.isinf(average_speed_of_answer(4, 5.0, 180))
    assert erlang_c(3, 0) == 0.0 and agents_needed(0, 180).agents == 0


def test_agents_needed_is_the_fewest_meeting_the_target():
    staffing = agents_needed(100, 180, target_seconds=20, target_level=0.8)
    assert staffing.agents == 8  # 7 agents answer only 74 % within 20 s
    assert staffing.service_level >= 0.8 > service_level(7, 5.0, 180, 20)
    assert staffing.occupancy == pytest.approx(5 / 8)
