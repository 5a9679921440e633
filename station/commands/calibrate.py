"""`station calibrate plate|camera`: guided calibration of the force plate or the camera pose."""
from __future__ import annotations

import importlib

_WIZARDS = {
    "plate": ("calibration.plate_wizard", "zero the plate and fit its channel gains with known masses"),
    "camera": ("calibration.camera_wizard", "find the camera's pose in the plate's frame (ChArUco board or board-less)"),
}


def add_arguments(parser):
    sub = parser.add_subparsers(dest="target", metavar="TARGET", required=True)
    for target, (module_name, help_text) in _WIZARDS.items():
        importlib.import_module(module_name).add_arguments(sub.add_parser(target, help=help_text))


def run(args) -> int:
    return importlib.import_module(_WIZARDS[args.target][0]).run(args)
