"""One scenario's timeline: what clients saw and what the lab did, on one time axis.

Rows, top to bottom, sharing the x axis (seconds since the scenario started):

1. successful writes/s per shard through its master port (reads/s dotted);
2. the slowest write per time bin, per shard (log scale: a timeout stands out);
3. failed or unanswered operations per bin, per shard;
4. events: Sentinel pub/sub, HAProxy backend changes, instance role changes
   (hover for the detail; the first ``+switch-master`` of a shard is a dashed line);
5. with ``--with-load``: Locust's requests/s per request name, coloured by shard
   (reads dotted, failures/s dashed).

Fault windows are shaded across every row. The figure is built only from the history
and Locust's CSV, and every number is rounded, so a rebuild yields the same JSON.
"""

from __future__ import annotations

import re
from collections import defaultdict

import plotly.graph_objects as go
from plotly.subplots import make_subplots

from lab.chaos.checkers import fault_windows
from lab.report.rundata import ScenarioRun
from lab.topology import haproxy_instance

BIN_S = 0.25
SHARD_COLOURS = ("#1f5fbf", "#d9480f", "#2b8a3e", "#862e9c", "#c2255c", "#5c940d")
FAULT_FILL = "#e03131"
FONT_SIZE = 15  # read on a projector from the back of the room
EVENT_LANES = ("roles", "HAProxy", "Sentinel")


def figure(scenario: ScenarioRun, shards: list[int]) -> go.Figure:
    events = scenario.events
    t0 = _start(events)
    end = max((e["t"] for e in events), default=t0) - t0
    titles = ["successful writes/s (reads/s dotted)", "slowest write per 0.25 s (ms)",
              "failed or unanswered operations per 0.25 s", "events (hover for detail)"]
    if scenario.locust:
        titles.append("Locust requests/s (GET dotted, failures/s dashed)")
    fig = make_subplots(rows=len(titles), cols=1, shared_xaxes=True, vertical_spacing=0.045,
                        subplot_titles=titles,
                        row_heights=[1, 0.8, 0.6, 0.7, 1][:len(titles)])
    ops = [e for e in events if e["type"] == "op"]
    for index, shard in enumerate(shards):
        colour = SHARD_COLOURS[index % len(SHARD_COLOURS)]
        mine = [o for o in ops if o.get("shard") == shard]
        _client_traces(fig, mine, shard, colour, t0, end)
    _event_traces(fig, events, t0)
    if scenario.locust:
        _locust_traces(fig, scenario.locust, t0, row=5)
    _shade_faults(fig, events, t0, end)
    _mark_switches(fig, events, t0)
    fig.update_layout(
        template="plotly_white", height=190 * len(titles) + 120, barmode="stack",
        font={"size": FONT_SIZE}, hovermode="closest", bargap=0,
        margin={"l": 70, "r": 20, "t": 70, "b": 50},
        legend={"orientation": "h", "yanchor": "bottom", "y": 1.03, "x": 0},
    )
    fig.update_xaxes(range=[0, round(end, 3)], showgrid=True)
    fig.update_xaxes(title_text="seconds since the scenario started", row=len(titles), col=1)
    fig.update_yaxes(type="log", row=2, col=1)
    fig.update_yaxes(categoryorder="array", categoryarray=list(EVENT_LANES), row=4, col=1)
    return fig


def _start(events: list[dict]) -> float:
    meta = next((e for e in events if e["type"] == "meta"), None)
    if meta:
        return meta["t"]
    return events[0]["t"] if events else 0.0


def _bins(times: list[float], t0: float, end: float) -> tuple[list[float], list[int]]:
    count = int(end // BIN_S) + 1
    counts = [0] * count
    for t in times:
        index = int((t - t0) // BIN_S)
        if 0 <= index < count:
            counts[index] += 1
    return [round(i * BIN_S, 3) for i in range(count)], counts


def _client_traces(fig: go.Figure, ops: list[dict], shard: int, colour: str, t0: float,
                   end: float) -> None:
    group = f"shard {shard}"
    writes = [o for o in ops if o["op"] == "write"]
    ok_writes = [o["end"] for o in writes if o["outcome"] == "ok"]
    ok_reads = [o["end"] for o in ops if o["op"] == "read" and o["outcome"] == "ok"]
    x, counts = _bins(ok_writes, t0, end)
    fig.add_trace(go.Scatter(x=x, y=[c / BIN_S for c in counts], name=group, legendgroup=group,
                             line={"color": colour, "width": 2}, line_shape="hv"), row=1, col=1)
    x, counts = _bins(ok_reads, t0, end)
    fig.add_trace(go.Scatter(x=x, y=[c / BIN_S for c in counts], name=f"{group} reads",
                             legendgroup=group, showlegend=False,
                             line={"color": colour, "width": 1, "dash": "dot"},
                             line_shape="hv"), row=1, col=1)

    slowest: dict[int, float] = {}
    for o in writes:
        index = int((o["start"] - t0) // BIN_S)
        slowest[index] = max(slowest.get(index, 0.0), (o["end"] - o["start"]) * 1000)
    keys = sorted(slowest)
    fig.add_trace(go.Scatter(x=[round(k * BIN_S, 3) for k in keys],
                             y=[round(slowest[k], 2) for k in keys], mode="lines",
                             name=f"{group} slowest write", legendgroup=group, showlegend=False,
                             line={"color": colour, "width": 1.5}, line_shape="hv"),
                  row=2, col=1)

    failed = defaultdict(int)
    classes: dict[int, set] = defaultdict(set)
    for o in ops:
        if o["outcome"] != "ok":
            index = int((o["end"] - t0) // BIN_S)
            failed[index] += 1
            classes[index].add(o.get("error") or o["outcome"])
    keys = sorted(failed)
    fig.add_trace(go.Bar(x=[round(k * BIN_S + BIN_S / 2, 3) for k in keys],
                         y=[failed[k] for k in keys], width=BIN_S, name=f"{group} errors",
                         legendgroup=group, showlegend=False, marker={"color": colour},
                         hovertext=[", ".join(sorted(classes[k])) for k in keys]),
                  row=3, col=1)


def _event_traces(fig: go.Figure, events: list[dict], t0: float) -> None:
    lanes: dict[str, list[tuple[float, str, str]]] = defaultdict(list)
    for e in events:
        x = round(e["t"] - t0, 3)
        if e["type"] == "sentinel":
            lanes["Sentinel"].append((x, f"{e['sentinel']} {e['channel']} {e['data']}",
                                      _sentinel_colour(e["channel"])))
        elif e["type"] == "haproxy":
            # A Sentinel-checked instance is UP once per majority naming it: once here.
            up = list(dict.fromkeys(haproxy_instance(s) for s in e.get("up") or []))
            master = e["backend"].endswith(("_master", "_master_checked"))
            colour = ("#e03131" if master and len(up) > 1
                      else "#868e96" if not up else "#1c7ed6")
            lanes["HAProxy"].append((x, f"{e['haproxy']} {e['backend']}: UP "
                                        f"{', '.join(up) or 'none'}", colour))
        elif e["type"] == "role":
            role = e.get("role") or "unreachable"
            colour = {"master": "#e8590c", "slave": "#1c7ed6"}.get(role, "#868e96")
            link = f", link {e['link']}" if e.get("link") else ""
            refused = f", PING refused: {e['refused']}" if e.get("refused") else ""
            lanes["roles"].append((x, f"{e['instance']}: {role}{link}{refused}", colour))
    for lane in EVENT_LANES:
        points = lanes.get(lane, [])
        fig.add_trace(go.Scatter(
            x=[p[0] for p in points], y=[lane] * len(points), mode="markers",
            marker={"color": [p[2] for p in points], "size": 16, "symbol": "line-ns-open",
                    "line": {"width": 2}},
            hovertext=[p[1] for p in points], hoverinfo="text+x", name=lane, showlegend=False),
            row=4, col=1)


def _sentinel_colour(channel: str) -> str:
    if channel == "+switch-master":
        return "#2b8a3e"
    if channel.startswith("-failover-abort"):
        return "#e03131"
    if channel in ("+sdown", "+odown"):
        return "#f08c00"
    return "#495057"


def _locust_traces(fig: go.Figure, series: dict[str, list[dict]], t0: float, row: int) -> None:
    ports = {name: _port(name) for name in series}
    first = min((p for p in ports.values() if p is not None), default=0)
    for name, rows in series.items():
        port = ports[name]
        named = re.search(r"shard(\d+)", name)  # the Sentinel client's: "SET shard2"
        shard_index = int(named[1]) - 1 if named else \
            (port - first) // 2 if port is not None else 0
        colour = SHARD_COLOURS[shard_index % len(SHARD_COLOURS)]
        dash = "solid" if name.startswith("SET") else "dot"
        x = [round(r["t"] - t0, 3) for r in rows]
        fig.add_trace(go.Scatter(x=x, y=[r["rps"] for r in rows], name=f"Locust {name}",
                                 line={"color": colour, "width": 1.5, "dash": dash}),
                      row=row, col=1)
        if any(r["fps"] for r in rows):
            fig.add_trace(go.Scatter(x=x, y=[r["fps"] for r in rows],
                                     name=f"Locust {name} failures",
                                     line={"color": colour, "width": 2.5, "dash": "dash"}),
                          row=row, col=1)


def _port(request_name: str) -> int | None:
    """``SET :5000`` -> 5000: the locustfile names each request after its HAProxy port."""
    try:
        return int(request_name.rsplit(":", 1)[1])
    except (IndexError, ValueError):
        return None


def _shade_faults(fig: go.Figure, events: list[dict], t0: float, end: float) -> None:
    for window in fault_windows(events):
        x0 = round(window.start - t0, 3)
        x1 = round(window.end - t0, 3) if window.healed else round(end, 3)
        label = window.fault if window.healed else f"{window.fault} (never healed)"
        fig.add_vrect(x0=x0, x1=x1, row="all", col=1, fillcolor=FAULT_FILL, opacity=0.13,
                      layer="below", line_width=0, name=f"fault: {window.fault}")
        fig.add_annotation(x=x0, y=1.0, xref="x", yref="paper", yanchor="bottom",
                           xanchor="left", text=f"fault: {label}", showarrow=False,
                           font={"color": FAULT_FILL, "size": FONT_SIZE})


def _mark_switches(fig: go.Figure, events: list[dict], t0: float) -> None:
    first: dict[str, float] = {}
    for e in events:
        if e["type"] == "sentinel" and e["channel"] == "+switch-master":
            monitor = e["data"].split()[0]
            first.setdefault(monitor, e["t"])
    for monitor, t in sorted(first.items()):
        fig.add_vline(x=round(t - t0, 3), line_dash="dash", line_color="#2b8a3e",
                      line_width=1.5, row="all", col=1)
        # Inside the top row, under the fault's label.
        fig.add_annotation(x=round(t - t0, 3), y=1, xref="x", yref="y domain",
                           yanchor="top", xanchor="left", showarrow=False,
                           text=f"+switch-master {monitor}", font={"color": "#2b8a3e"},
                           bgcolor="rgba(255,255,255,0.8)")
