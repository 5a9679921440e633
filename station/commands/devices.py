"""`station devices`: every camera and force plate the station can use right now."""
from __future__ import annotations

import json


def add_arguments(parser):
    parser.add_argument("--json", action="store_true", help="print the list as JSON")


def _collect() -> list[dict]:
    import drivers.camera as camera
    import drivers.force_plate as force_plate
    found = []
    found += camera.list_cameras()
    found += force_plate.list_plates()
    return found


def run(args) -> int:
    devices = _collect()
    if args.json:
        print(json.dumps(devices, indent=2))
        return 0
    for d in devices:
        print(f"{d['kind']:<12} {d['name']:<28} {d.get('status', '')}")
        if d.get("how_to_use"):
            print(f"{'':<12} {d['how_to_use']}")
    return 0
