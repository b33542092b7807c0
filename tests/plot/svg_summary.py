#!/usr/bin/env python3
"""Parses an SVG written by `trl-host plot` as XML (Python's xml.etree, an independent parser) and prints
a JSON summary: {"title": ..., "panels": [{"metric", "title", "axis_labels": [...], "points": N,
"tick_labels": N}]}. Exits 1 if the file is not well-formed XML or not an SVG document.

Usage: svg_summary.py FILE.svg
"""
import json
import sys
import xml.etree.ElementTree as ET

NS = "{http://www.w3.org/2000/svg}"


def classes(element):
    return element.get("class", "").split()


def main(path):
    try:
        root = ET.parse(path).getroot()
    except ET.ParseError as e:
        print(f"svg_summary: {path}: not well-formed XML: {e}", file=sys.stderr)
        return 1
    if root.tag != NS + "svg":
        print(f"svg_summary: {path}: root element is {root.tag}, not svg", file=sys.stderr)
        return 1
    title = next((t.text for t in root.iter(NS + "text") if "title" in classes(t)), None)
    panels = []
    for g in root.iter(NS + "g"):
        if "panel" not in classes(g):
            continue
        texts = list(g.iter(NS + "text"))
        panels.append({
            "metric": g.get("data-metric"),
            "title": next((t.text for t in texts if "panel-title" in classes(t)), None),
            "axis_labels": [t.text for t in texts if "axis-label" in classes(t)],
            "tick_labels": sum(1 for t in texts if "tick-label" in classes(t)),
            "axes": sum(1 for l in g.iter(NS + "line") if "axis" in classes(l)),
            "points": sum(1 for c in g.iter(NS + "circle") if "point" in classes(c)),
        })
    print(json.dumps({"title": title, "panels": panels}))
    return 0


if __name__ == "__main__":
    if len(sys.argv) != 2:
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    sys.exit(main(sys.argv[1]))
