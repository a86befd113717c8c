"""Intake: how many cases came in, by day, channel, station and service type.

One counter document per (day, channel, station, service type); the query sums them into
whatever grouping it is asked for (by month, by channel alone, ...). A case taken online has
no station: it counts under station "-".
"""

from __future__ import annotations

from projections.logged import Logged
from projections.times import local_day
from projections.view import Projection, Table, Views, handles

INTAKE = "intake"
NO_STATION = "-"


class Intake(Projection):
    name = "intake"
    rebuild_cost = 0.15
    version = 1
    tables = (Table(INTAKE, {"day": "text", "month": "text", "channel": "text",
                             "station": "text", "service_type": "text"},
                    indexes=(("day",),)),)

    @handles("case.submitted")
    def _submitted(self, event: Logged, views: Views) -> None:
        data = event.data
        day = local_day(data["timestamp"])
        station = data.get("station") or NO_STATION
        key = f"{day}|{data['channel']}|{station}|{data['service_type']}"
        counter = views.get(INTAKE, key)
        if counter is None:
            counter = {"day": day, "month": day[:7], "channel": data["channel"],
                       "station": station, "service_type": data["service_type"],
                       "submitted": 0}
        counter["submitted"] += 1
        views.put(INTAKE, key, counter)
