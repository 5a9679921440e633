"""The athlete's visible surface for the renderer: capsules and ellipsoids hung on the joint
centres (analysis.joints.JOINT_NAMES order, lab frame), with skin and clothing colours and a
face, so that a 2D pose estimator sees a person.

Input is one pose: joints_lab (J, 3) metres, plus a `BodyShape` (segment radii).
`BodyShape.from_body(drivers.athlete.body.Body)` takes the body model's radii, so the surface the
camera sees is the body model's: limbs are capsules joint-to-joint with the model's radius
(upper arm, forearm, thigh, shank; hand = wrist -> wrist + hand length along the forearm; foot =
heel joint -> toe joint, which are the centres of the foot capsule's end caps, one radius above
the sole). Shapes the model keeps round are drawn as ellipsoids of the same cross-section area
or volume: trunk (mid-hip -> neck, elliptic section 1.5:1 of the model's trunk radius), head
(ellipsoid centred on the 'head' joint, volume of the model's head sphere, with a face), pelvis
(spans the hips with a margin). The plain `BodyShape()` defaults are those of Body(1.75 m, 75 kg).
"""
from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from analysis.joints import JOINT_INDEX as JI

SKIN = np.array([0.87, 0.67, 0.54])
HAIR = np.array([0.18, 0.12, 0.08])
SHIRT = np.array([0.15, 0.35, 0.75])
SHORTS = np.array([0.12, 0.12, 0.14])
SOCKS = np.array([0.92, 0.92, 0.92])
SHOES = np.array([0.85, 0.20, 0.15])
SOLE = np.array([0.95, 0.95, 0.95])
EYE_WHITE = np.array([0.95, 0.95, 0.95])
IRIS = np.array([0.10, 0.08, 0.06])
LIPS = np.array([0.70, 0.30, 0.30])


_HEAD_AXES = (0.80, 1.0, 1.23)     # head ellipsoid semi-axes (right, forward, up) / sphere radius;
                                   # product ~1, so the volume is the sphere's


@dataclass(frozen=True)
class BodyShape:
    """Segment radii (m) of the rendered body. Defaults: BodyShape.from_body(Body(1.75, 75)),
    rounded; use from_body for any other athlete."""
    head_semi_axes: tuple = (0.0846, 0.1058, 0.1301)  # right, forward, up
    neck_r: float = 0.048
    trunk_half_width: float = 0.1563
    trunk_half_depth: float = 0.1042
    shoulder_r: float = 0.0466
    pelvis_half_depth: float = 0.1042
    pelvis_side_margin: float = 0.075                # pelvis reaches this far beyond each hip joint
    upper_arm_r: float = 0.0466
    forearm_r: float = 0.0369
    hand_r: float = 0.0400
    hand_length: float = 0.0867
    thigh_r: float = 0.0871
    shank_r: float = 0.0475
    foot_r: float = 0.0347
    shoe_half_width: float = 0.048                   # shoe (drawn around the foot capsule): half the
                                                     # foot breadth 0.055 H (Drillis & Contini 1966)
    sleeve_fraction: float = 0.45                    # of the upper arm covered by the shirt
    shorts_fraction: float = 0.55                    # of the thigh covered by the shorts
    sock_fraction: float = 0.25                      # of the shank (from the ankle) in socks

    @classmethod
    def from_body(cls, body) -> "BodyShape":
        """Radii of a drivers.athlete.body.Body (segments named trunk, head, left_thigh, ...)."""
        r = {sg.name.replace("left_", ""): sg.radius_m for sg in body.segments}
        trunk, head = r["trunk"], r["head"]
        k = 1.5 ** 0.5
        return cls(head_semi_axes=tuple(head * f for f in _HEAD_AXES), trunk_half_width=trunk * k,
                   trunk_half_depth=trunk / k, shoulder_r=r["shoulders"], pelvis_half_depth=trunk / k,
                   upper_arm_r=r["upper_arm"], forearm_r=r["forearm"], hand_r=r["hand"],
                   hand_length=body.hand_length_m, thigh_r=r["thigh"], shank_r=r["shank"],
                   foot_r=r["foot"], neck_r=0.45 * head, shoe_half_width=0.055 / 2 * body.height_m)



class Prim:
    """One surface primitive in the CAMERA frame. kind 'capsule': (a, b, r); 'ellipsoid': (c, M).
    `colour(points_camera (N,3), local) -> (N,3)`; local = axis fraction s (capsule) or the
    sphere-space point q (ellipsoid)."""
    __slots__ = ("kind", "a", "b", "r", "c", "M", "bound_c", "bound_r", "colour", "name", "caps")

    def __init__(self, kind, name, colour, **kw):
        self.kind, self.name, self.colour = kind, name, colour
        for k, v in kw.items():
            setattr(self, k, v)


def _unit(v):
    return v / np.linalg.norm(v)


def _bands(bands):
    """Colour by fraction s along a capsule: bands = [(s_end, rgb), ...] ascending."""
    ends = np.array([b[0] for b in bands])
    cols = np.array([b[1] for b in bands])

    def colour(p, s):
        return cols[np.minimum(np.searchsorted(ends, s), len(cols) - 1)]
    return colour


def _const(rgb):
    rgb = np.asarray(rgb, dtype=float)
    return lambda p, local: np.broadcast_to(rgb, (len(p), 3))


def _shoe(p, q):
    rgb = np.tile(SHOES, (len(q), 1))
    rgb[q[:, 2] < -0.45] = SOLE
    return rgb


def _face(p, q):
    """Head colours from the sphere-space point q (axes: right, forward, up of the head)."""
    x, y, z = q[:, 0], q[:, 1], q[:, 2]
    rgb = np.tile(SKIN, (len(q), 1))
    hair = (z > 0.45) | ((y < 0.15) & (z > -0.2)) | ((y < -0.3) & (z > -0.55))
    rgb[hair] = HAIR
    front = y > 0.55
    for sx in (-1.0, 1.0):
        d2 = ((x - sx * 0.36) / 0.17) ** 2 + ((z - 0.18) / 0.09) ** 2
        rgb[front & (d2 < 1.0)] = EYE_WHITE
        di = ((x - sx * 0.36) / 0.07) ** 2 + ((z - 0.18) / 0.08) ** 2
        rgb[front & (di < 1.0)] = IRIS
        brow = (np.abs(x - sx * 0.36) < 0.2) & (np.abs(z - 0.34) < 0.035)
        rgb[front & brow] = HAIR
    mouth = ((x / 0.25) ** 2 + ((z + 0.42) / 0.07) ** 2) < 1.0
    rgb[front & mouth] = LIPS
    nose = (np.abs(x) < 0.06) & (z > -0.2) & (z < 0.1) & (y > 0.9)
    rgb[nose] = SKIN * 0.8
    return rgb


def _ellipsoid(name, centre, axes, semi, colour):
    """axes: (3, 3) columns are the unit semi-axis directions; semi: their lengths."""
    M = np.diag(1.0 / np.asarray(semi)) @ axes.T
    return Prim("ellipsoid", name, colour, c=centre, M=M, bound_c=centre, bound_r=float(max(semi)))


def _capsule(name, a, b, r, colour):
    return Prim("capsule", name, colour, a=a, b=b, r=float(r), caps=(True, True),
                bound_c=(a + b) / 2, bound_r=float(np.linalg.norm(b - a) / 2 + r))


def _drop_hidden_caps(prims):
    """Skip a capsule's end sphere when another capsule has an end sphere at the same joint with a
    radius at least as large: it lies inside that one and cannot change the surface (saves work)."""
    ends = [(k, e) for k, p in enumerate(prims) if p.kind == "capsule" for e in (0, 1)]
    pos = np.array([(prims[k].a, prims[k].b)[e] for k, e in ends])
    rad = np.array([prims[k].r for k, _ in ends])
    idx = np.array([k for k, _ in ends])
    same = np.abs(pos[:, None, :] - pos[None, :, :]).max(axis=2) < 1e-12
    bigger = (rad[None, :] > rad[:, None]) | ((rad[None, :] == rad[:, None]) & (idx[None, :] < idx[:, None]))
    hidden = (same & bigger & (idx[None, :] != idx[:, None])).any(axis=1)
    for (k, e), h in zip(ends, hidden):
        if h:
            caps = list(prims[k].caps)
            caps[e] = False
            prims[k].caps = tuple(caps)
    return prims


def body_primitives(joints_camera: np.ndarray, shape: BodyShape) -> list:
    """Primitives of the body for one pose, joints given in the CAMERA frame (J, 3); since
    every shape is built from joint positions and directions, building in the camera frame
    equals building in the lab frame and transforming."""
    J = np.asarray(joints_camera, dtype=float)
    g = lambda n: J[JI[n]]
    mid_hip = (g("left_hip") + g("right_hip")) / 2
    right = _unit(g("right_hip") - g("left_hip"))
    up_t = g("neck") - mid_hip
    up = _unit(up_t - (up_t @ right) * right)
    fwd = np.cross(up, right)
    trunk_axes = np.stack([right, fwd, up], axis=1)
    s = shape
    prims = []
    # trunk: from the top of the pelvis to the neck
    L = np.linalg.norm(up_t)
    bottom, top = mid_hip + 0.10 * L * up, g("neck") - 0.02 * L * up
    prims.append(_ellipsoid("trunk", (bottom + top) / 2, trunk_axes,
                            (s.trunk_half_width, s.trunk_half_depth, np.linalg.norm(top - bottom) / 2 + 0.04 * L),
                            _const(SHIRT)))
    prims.append(_capsule("shoulders", g("left_shoulder"), g("right_shoulder"), s.shoulder_r, _const(SHIRT)))
    hip_half = np.linalg.norm(g("right_hip") - g("left_hip")) / 2
    prims.append(_ellipsoid("pelvis", mid_hip + 0.02 * L * up, trunk_axes,
                            (hip_half + s.pelvis_side_margin, s.pelvis_half_depth, 0.13 * L / 0.52),
                            _const(SHORTS)))
    # neck and head
    head = g("head")
    head_up = _unit(head - g("neck"))
    hr = _unit(right - (right @ head_up) * head_up)
    head_axes = np.stack([hr, np.cross(head_up, hr), head_up], axis=1)
    prims.append(_capsule("neck", g("neck"), g("neck") + 0.6 * (head - g("neck")), s.neck_r, _const(SKIN)))
    prims.append(_ellipsoid("head", head, head_axes, s.head_semi_axes, _face))
    for side in ("left", "right"):
        sh, el, wr = g(f"{side}_shoulder"), g(f"{side}_elbow"), g(f"{side}_wrist")
        hip, kn, an = g(f"{side}_hip"), g(f"{side}_knee"), g(f"{side}_ankle")
        heel, toe = g(f"{side}_heel"), g(f"{side}_toe")
        prims.append(_capsule(f"{side}_upper_arm", sh, el, s.upper_arm_r,
                              _bands([(s.sleeve_fraction, SHIRT), (1.0, SKIN)])))
        prims.append(_capsule(f"{side}_forearm", el, wr, s.forearm_r, _const(SKIN)))
        d = _unit(wr - el)
        prims.append(_capsule(f"{side}_hand", wr, wr + d * s.hand_length, s.hand_r, _const(SKIN * 0.95)))
        prims.append(_capsule(f"{side}_thigh", hip, kn, s.thigh_r,
                              _bands([(s.shorts_fraction, SHORTS), (1.0, SKIN)])))
        prims.append(_capsule(f"{side}_shank", kn, an, s.shank_r,
                              _bands([(1.0 - s.sock_fraction, SKIN), (1.0, SOCKS)])))
        prims.append(_capsule(f"{side}_foot", heel, toe, s.foot_r, _const(SHOES)))
        # the shoe: wider than the foot capsule between heel and toe, same tips, flat-ish sole
        f = toe - heel
        L = np.linalg.norm(f)
        f = f / L
        fu = an - heel
        fu = _unit(fu - (fu @ f) * f)
        fr = np.cross(f, fu)
        prims.append(_ellipsoid(f"{side}_shoe", (heel + toe) / 2, np.stack([fr, f, fu], axis=1),
                                (s.shoe_half_width, L / 2 + s.foot_r, s.foot_r * 1.05), _shoe))
    return _drop_hidden_caps(prims)
