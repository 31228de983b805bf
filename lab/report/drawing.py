"""The lab's topology as an inline SVG: one column per server, what runs on it.

Drawn from the ``topology`` a run recorded (:meth:`lab.topology.Topology.as_dict`), so
the picture is the layout that was measured, not today's ``lab.toml``.
"""

from __future__ import annotations

from html import escape

from lab.report.timeline import SHARD_COLOURS

COLUMN_W = 300
GAP = 28
ROW_H = 30
HEADER_H = 62


def topology_svg(topology: dict, haproxy_ports: str) -> str:
    servers = topology["servers"]
    rows = {s["name"]: [] for s in servers}
    for shard in topology["shards"]:
        colour = SHARD_COLOURS[(shard["number"] - 1) % len(SHARD_COLOURS)]
        for i in shard["instances"]:
            role = "master" if i["initial_role"] == "master" else "replica"
            rows[i["server"]].append((f"redis :{i['port']}  shard {shard['number']} {role}",
                                      colour, role == "master"))
    # Sentinel monitor names (recorded since adopt mode; older runs: shard<N>).
    monitors = {shard["number"]: shard.get("monitor") or f"shard{shard['number']}"
                for shard in topology["shards"]}
    for s in topology["sentinels"]:
        watched = ", ".join(monitors[n] for n in s["shards"])
        rows[s["server"]].append((f"sentinel :{s['port']}  watches {watched}", "#868e96",
                                  False))
    height = HEADER_H + ROW_H * (max(len(r) for r in rows.values()) + 1) + 16
    width = len(servers) * COLUMN_W + (len(servers) - 1) * GAP
    parts = [f'<svg class="topology" xmlns="http://www.w3.org/2000/svg" '
             f'viewBox="0 0 {width} {height}" role="img" '
             f'aria-label="{escape(topology["layout"])} layout topology">']
    for column, server in enumerate(servers):
        x = column * (COLUMN_W + GAP)
        parts.append(f'<rect x="{x}" y="1" width="{COLUMN_W}" height="{height - 2}" rx="10" '
                     'fill="#f8f9fa" stroke="#343a40" stroke-width="2"/>')
        parts.append(_text(x + 14, 28, f"{server['name']}", weight="bold", size=20))
        parts.append(_text(x + 14, 50, server["address"], size=15, colour="#495057"))
        y = HEADER_H
        parts.append(_row(x, y, f"HAProxy {haproxy_ports}", "#0b7285", True))
        for label, colour, bold in rows[server["name"]]:
            y += ROW_H
            parts.append(_row(x, y, label, colour, bold))
    parts.append("</svg>")
    return "".join(parts)


def _row(x: int, y: int, label: str, colour: str, bold: bool) -> str:
    return (f'<rect x="{x + 12}" y="{y}" width="8" height="{ROW_H - 8}" fill="{colour}"/>'
            + _text(x + 28, y + ROW_H - 13, label, weight="bold" if bold else "normal",
                    size=16))


def _text(x: int, y: int, text: str, weight: str = "normal", size: int = 16,
          colour: str = "#212529") -> str:
    return (f'<text x="{x}" y="{y}" font-size="{size}" font-weight="{weight}" '
            f'fill="{colour}" font-family="sans-serif">{escape(text)}</text>')
