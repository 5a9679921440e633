"""`station`: the one command of the lab station.

Each sub-command lives in station/commands/<name>.py with two functions:
    add_arguments(parser)   -> fills its argparse sub-parser
    run(args) -> int        -> does the work, returns the exit code
Errors meant for the user are raised as station.errors.UserError and printed as one line.
"""
from __future__ import annotations

import argparse
import importlib
import sys

from station import __version__
from station.errors import UserError

_OWN_PACKAGES = {"station", "drivers", "calibration", "analysis", "data"}

# name -> (module, one-line help). Order is the order of `station --help`.
COMMANDS = {
    "demo": ("demo", "run a whole simulated session (virtual athlete, camera and plate) and show its results"),
    "devices": ("devices", "list cameras and force plates: real, virtual and recordings"),
    "calibrate": ("calibrate", "calibrate the force plate (zero, gains) or the camera's pose on the plate"),
    "capture": ("capture", "run a capture protocol with an athlete (real devices, or --simulate)"),
    "simulate": ("simulate", "write a simulated trial (virtual athlete) straight to a file"),
    "virtual-plate": ("virtual_plate", "start a virtual force plate on a pseudo-terminal and print its port"),
    "camera-check": ("camera_check", "show a camera's live fps and drops and save a depth/color snapshot"),
    "import": ("import_cmd", "import an external force recording (text, OpenSim .mot/.sto, C3D) as a trial"),
    "analyze": ("analyze", "analyse trials (events, jump/squat metrics, angles) and write results into them"),
    "inspect": ("inspect", "print a human summary of a trial file (or --json)"),
    "recover": ("recover", "finish a trial whose writer was killed: writes <name>.recovered.h5 (status aborted); the original is untouched"),
    "report": ("report", "write an HTML report of a trial or a session"),
    "export": ("export", "export a trial to CSV or C3D"),
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="station",
        description="Force-plate and depth-camera lab station: capture, calibrate, analyse, report.",
    )
    parser.add_argument("--version", action="version", version=f"station {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, (module_name, help_text) in COMMANDS.items():
        p = sub.add_parser(name, help=help_text, description=help_text)
        try:
            module = importlib.import_module(f"station.commands.{module_name}")
            module.add_arguments(p)
        except ModuleNotFoundError as exc:
            # A part of the station that this version does not have yet; third-party modules
            # missing means a broken install and must not be hidden.
            if not (exc.name or "").split(".")[0] in _OWN_PACKAGES:
                raise
            p.set_defaults(_unavailable=name)
            continue
        p.set_defaults(_run=module.run)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 0
    if getattr(args, "_unavailable", None):
        print(f"station {args._unavailable}: not available yet in this version", file=sys.stderr)
        return 3
    try:
        return int(args._run(args) or 0)
    except UserError as exc:
        print(f"station {args.command}: error: {exc}", file=sys.stderr)
        return exc.exit_code
    except ModuleNotFoundError as exc:
        if (exc.name or "").split(".")[0] not in _OWN_PACKAGES:
            raise
        print(f"station {args.command}: not available yet in this version ({exc.name} is missing)",
              file=sys.stderr)
        return 3
    except KeyboardInterrupt:
        print(f"station {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
