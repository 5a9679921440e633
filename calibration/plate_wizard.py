"""`station calibrate plate`: walks the technician through zeroing and gain calibration.

Steps: empty plate (zero and noise) -> one known mass at the centre and near each corner of each
plate (and heavier masses at the centre for linearity with --masses) -> the fit -> a check at a
position not used in the fit (COP and Fz error) -> save. --simulate runs the same steps against a
virtual plate with known gains and offsets and places the masses itself (prints the recovered
vs true gains), so the whole path is testable.
"""
from __future__ import annotations

import json
import sys
import time

import numpy as np

from calibration import plate as cp
from station.errors import UserError


def add_arguments(parser):
    parser.add_argument("--port", help="serial port of the plate (see `station devices`)")
    parser.add_argument("--simulate", action="store_true",
                        help="calibrate a virtual plate with known gains; masses are placed automatically")
    parser.add_argument("--channels", type=int, default=4, choices=(4, 8),
                        help="with --simulate: 4 (one plate) or 8 (two plates on one device)")
    parser.add_argument("--masses", default="20",
                        help="known masses in kg, comma-separated: the first goes at every position, "
                             "the others at the centre only (linearity). Default 20")
    parser.add_argument("--seconds", type=float, default=2.0, help="averaging window per step, s (default 2)")
    parser.add_argument("--settle", type=float, default=0.5, help="wait after each placement, s (default 0.5)")
    parser.add_argument("--max-cop-error-mm", type=float, default=10.0,
                        help="COP check tolerance in mm (default 10)")
    parser.add_argument("--out", help="calibration folder (default $STATION_HOME/calibration or ~/.station/calibration)")
    parser.add_argument("--json", action="store_true", help="print the result as JSON")


def _plan(n_plates: int, masses: list[float], geometries) -> tuple[list, list]:
    """Fit placements and check placements: [(plate, mass, (x, y), label)]."""
    fit, check = [], []
    for p in range(n_plates):
        g = geometries[p]
        ax, ay = 0.55 * g.cell_half_x_m, 0.6 * g.cell_half_y_m
        where = f" of plate {p + 1}" if n_plates > 1 else ""
        fit.append((p, masses[0], (0.0, 0.0), f"the centre{where}"))
        for sx, sy, name in ((1, 1, "front right"), (-1, 1, "front left"), (-1, -1, "back left"),
                             (1, -1, "back right")):
            fit.append((p, masses[0], (sx * ax, sy * ay), f"the {name} mark{where}"))
        for m in masses[1:]:
            fit.append((p, m, (0.0, 0.0), f"the centre{where}"))
        check.append((p, masses[0], (0.4 * g.cell_half_x_m, -0.3 * g.cell_half_y_m),
                      f"the check mark{where}"))
    return fit, check


def _capture(plate, seconds: float, settle: float) -> tuple[np.ndarray, np.ndarray]:
    rate = plate.description["rate_hz"] or 1000.0
    plate.read(timeout=0.0)
    if settle > 0:
        time.sleep(settle)
        plate.read(timeout=0.0)                      # discard what came while settling
    n = max(2, int(round(seconds * rate)))
    b = plate.read_until(n, timeout=seconds * 3 + 2.0)
    if plate.ended:
        raise UserError(f"the plate on {plate.port} stopped sending (unplugged?); check the cable and start again")
    if len(b) < 2:
        raise UserError(f"no samples from the plate on {plate.port} in {seconds * 3 + 2.0:g} s; check the cable")
    c = b.counts[:n].astype(float)
    return c.mean(axis=0), c.std(axis=0, ddof=1)


def run(args) -> int:
    masses = _parse_masses(args.masses)
    if args.seconds <= 0:
        raise UserError("--seconds must be > 0")
    vp = None
    from drivers.force_plate import ForcePlate
    if args.simulate:
        from drivers.virtual_plate import VirtualPlate
        vp = VirtualPlate(None, rate_hz=1000.0, channels=args.channels, seed=7, register=False).start()
        port = vp.port
    elif args.port:
        port = args.port
    else:
        raise UserError("give --port PORT (see `station devices`) or --simulate")
    say = (lambda *a: print(*a, file=sys.stderr)) if args.json else print
    plate = ForcePlate(port)
    try:
        desc = plate.description
        geoms = [p["geometry"] for p in plate.plates]
        plate.start()

        def step(prompt: str, place=None):
            if vp is not None:
                say(f"[simulate] {prompt}")
                if place is not None:
                    vp.set_load(*place)
                else:
                    vp.set_load(0.0)
            else:
                try:
                    input(f"{prompt}, then press Enter ")
                except EOFError:
                    raise UserError("calibration needs answers at the prompts (stdin closed); "
                                    "run it in a terminal") from None
            return _capture(plate, args.seconds, args.settle)

        say(f"Calibrating {desc['model']} {desc['serial']} on {port}: {desc['channels']} channels "
            f"at {desc['rate_hz']:g} Hz")
        zero, zero_sd = step("Clear the plate: nothing on it, nobody touching it")
        fit_plan, check_plan = _plan(len(geoms), masses, geoms)
        placements = []
        for p, m, pos, label in fit_plan:
            mean, sd = step(f"Place {m:g} kg on {label} (x {pos[0]:+.3f} m, y {pos[1]:+.3f} m from the centre)",
                            (m, pos, p))
            placements.append(cp.Placement(m, pos, mean, plate=p, counts_sd=sd))
        try:
            cal = cp.calibrate(zero, placements, device_serial=desc["serial"], device_model=desc["model"],
                               plates_desc=desc["plates"], zero_sd_counts=zero_sd)
        except ValueError as exc:
            raise UserError(f"calibration failed: {exc}") from None
        checks = []
        for p, m, pos, label in check_plan:
            mean, sd = step(f"Check: place {m:g} kg on {label} (x {pos[0]:+.3f} m, y {pos[1]:+.3f} m)",
                            (m, pos, p))
            checks.append(cp.Placement(m, pos, mean, plate=p, counts_sd=sd))
        cal.report["cop_check"] = cp.cop_check(cal, checks, max_cop_error_m=args.max_cop_error_mm / 1000.0)
        if vp is not None:
            cal.report["simulated_truth"] = {
                "newtons_per_count": (1.0 / vp.gains).tolist(), "zero_counts": vp.offsets.tolist(),
                "gain_error_pct": ((cal.newtons_per_count * vp.gains - 1.0) * 100.0).tolist()}
        step("Done: take the masses off the plate") if vp is not None else None
        path = cal.save(args.out)
    finally:
        plate.close()
        if vp is not None:
            vp.close()
    _print_report(cal, path, args.json, say)
    return 0 if cal.report["cop_check"]["passed"] else 1


def _parse_masses(text: str) -> list[float]:
    try:
        masses = [float(x) for x in str(text).split(",") if x.strip()]
    except ValueError:
        raise UserError(f"--masses wants kg values separated by commas, e.g. 20,40 (got {text!r})") from None
    if not masses or min(masses) <= 0:
        raise UserError("--masses needs at least one mass > 0 kg")
    return masses


def _print_report(cal: cp.PlateCalibration, path, as_json: bool, say) -> None:
    r = cal.report
    if as_json:
        d = cal.to_dict()
        d["path"] = str(path)
        print(json.dumps(d, indent=2))
        return
    print(f"channel   zero [counts]   gain [N/count]   noise [N]")
    noise = r.get("noise_n") or [float("nan")] * cal.channels
    for c in range(cal.channels):
        print(f"{c:>7}   {cal.zero_counts[c]:>13.1f}   {cal.newtons_per_count[c]:>14.6e}   {noise[c]:>9.3f}")
    print(f"Fz residual RMS {r['fz_residual_rms_n']:.2f} N over {len(r['placements'])} placements; "
          f"linearity {r['linearity_fz_pct_fs']:.3f} % FS (FS {r['full_scale_n']:.0f} N)")
    lin = [v for v in r["linearity_channel_pct_fs"] if v is not None]
    if lin:
        print(f"per-channel linearity, worst {max(lin):.3f} % FS")
    chk = r["cop_check"]
    for c in chk["checks"]:
        print(f"check plate {c['plate'] + 1}: COP error {c['cop_error_m'] * 1000:.1f} mm, "
              f"Fz error {c['fz_error_pct']:+.2f} % -> {'ok' if c['ok'] else 'FAILED'}")
    if "simulated_truth" in r:
        err = np.abs(r["simulated_truth"]["gain_error_pct"])
        print(f"[simulate] gains recovered within {err.max():.3f} % of the virtual plate's true gains")
    print(f"saved {path}")
    if not chk["passed"]:
        print("the COP check FAILED: check the masses and positions and calibrate again")
