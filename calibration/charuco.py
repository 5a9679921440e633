"""The station's ChArUco calibration board: its layout, its place on the plate, and a painter
that draws it into a (rendered) color image.

Layout (default `STATION_BOARD`): 5 x 3 squares of 120 mm (0.60 x 0.36 m), ArUco markers of
90 mm from DICT_4X4_50 (ids 0..6), OpenCV's current (non-legacy) pattern: 8 inner ChArUco
corners. Why so coarse: in the reference set-ups the camera stands 2-3 m away, 1 m above the
plate top, so it sees the horizontal board at only ~18-22 degrees; the board is then only
~25-35 px tall in a 640x480 color image. Measured with the rendered scene (before choosing):
6x4 squares of 100 mm lost all but 0-1 markers at 3 m facing the plate, 5x3 of 120 mm kept 4-5
markers there and all 7 at 2.5 m and at 45 degrees. Depth supplies the plane, so the few
corners only have to fix the in-plane position and heading.
Print it with `python -m calibration.charuco board.png` (2000 px per metre) at exactly 600 x 360 mm
(check one square with a ruler: 120.0 mm) and glue it on a flat stiff sheet.

Position on the plate: the board spans the plate's full length (x) and is centred in y, leaving
20 mm of plate in front and behind. Lay it so that its printed top edge (the row of markers
0, 1) faces the plate's FRONT edge (+y, the side the athlete faces), marker 0 near the
front-LEFT corner (-x), both short edges flush with the plate's left and right edges. Then, in
the lab frame (origin plate top centre, x athlete's right, y forward, z up):
    board origin (its top-left outer corner) = (-0.30, +0.18, 0) m,
    board x = lab +x, board y = lab -y, board z = lab -z (OpenCV's board z points into the board).
The board's thickness (paper: ~0.1 mm; a sheet under it: measure and set `thickness_m`) raises its
surface above the plate top.
"""
from __future__ import annotations

import sys
from dataclasses import dataclass
from functools import lru_cache

import cv2
import numpy as np

from drivers.camera_model import Intrinsics, invert_pose

TEXTURE_PX_PER_M = 2000.0


@dataclass(frozen=True)
class BoardSpec:
    squares_x: int = 5
    squares_y: int = 3
    square_m: float = 0.120
    marker_m: float = 0.090
    dictionary: str = "DICT_4X4_50"
    origin_lab_m: tuple = (-0.30, 0.18, 0.0)     # the board's top-left outer corner on the plate
    thickness_m: float = 0.0                      # board surface height above the plate top

    @property
    def size_m(self) -> tuple[float, float]:
        return self.squares_x * self.square_m, self.squares_y * self.square_m

    @property
    def T_lab_from_board(self) -> np.ndarray:
        """Board frame (OpenCV: x along the printed rows, y down the printed page, z into the
        board) -> lab frame."""
        T = np.eye(4)
        T[:3, :3] = np.diag([1.0, -1.0, -1.0])
        T[:3, 3] = np.array(self.origin_lab_m, dtype=float) + [0.0, 0.0, self.thickness_m]
        return T

    def to_dict(self) -> dict:
        return {"squares_x": self.squares_x, "squares_y": self.squares_y, "square_m": self.square_m,
                "marker_m": self.marker_m, "dictionary": self.dictionary,
                "origin_lab_m": list(self.origin_lab_m), "thickness_m": self.thickness_m}

    @classmethod
    def from_dict(cls, d: dict) -> "BoardSpec":
        d = dict(d)
        d["origin_lab_m"] = tuple(d["origin_lab_m"])
        return cls(**d)


STATION_BOARD = BoardSpec()


@lru_cache(maxsize=8)
def make_board(spec: BoardSpec = STATION_BOARD) -> cv2.aruco.CharucoBoard:
    dictionary = cv2.aruco.getPredefinedDictionary(getattr(cv2.aruco, spec.dictionary))
    return cv2.aruco.CharucoBoard((spec.squares_x, spec.squares_y), spec.square_m, spec.marker_m,
                                  dictionary)


def corners_board_m(spec: BoardSpec = STATION_BOARD) -> np.ndarray:
    """(N, 3) inner ChArUco corners in the board frame, indexed by ChArUco corner id."""
    return np.asarray(make_board(spec).getChessboardCorners(), dtype=float)


def corners_lab_m(spec: BoardSpec = STATION_BOARD) -> np.ndarray:
    """(N, 3) inner ChArUco corners in the lab frame."""
    T = spec.T_lab_from_board
    return corners_board_m(spec) @ T[:3, :3].T + T[:3, 3]


@lru_cache(maxsize=4)
def board_texture(spec: BoardSpec = STATION_BOARD, px_per_m: float = TEXTURE_PX_PER_M) -> np.ndarray:
    """Grey (uint8) image of the whole board, `px_per_m` pixels per metre, no margin."""
    w_m, h_m = spec.size_m
    size = (int(round(w_m * px_per_m)), int(round(h_m * px_per_m)))
    return make_board(spec).generateImage(size, marginSize=0, borderBits=1)


def paint_board(image_rgb: np.ndarray, color_intrinsics: Intrinsics, T_lab_from_color: np.ndarray,
                spec: BoardSpec = STATION_BOARD, visible_mask: np.ndarray | None = None,
                supersample: int = 4, black_rgb=(20, 20, 20), white_rgb=(235, 235, 235)) -> np.ndarray:
    """Paint the board, lying at its documented place on the plate, into `image_rgb` (H, W, 3)
    uint8 seen by a pinhole camera (`color_intrinsics`, no distortion) at `T_lab_from_color`.

    The board texture is warped through the plane homography into a `supersample`-times finer
    patch around the board's footprint, then box-filtered down (anti-aliasing) and alpha-blended.
    `visible_mask` (H, W) bool, optional: pixels where the plate top is not hidden by something
    else (e.g. an athlete's feet); the board is painted only there. Returns a new image."""
    img = np.array(image_rgb, dtype=np.uint8, copy=True)
    h_img, w_img = img.shape[:2]
    T_color_from_board = invert_pose(np.asarray(T_lab_from_color, dtype=float)) @ spec.T_lab_from_board
    w_m, h_m = spec.size_m
    outline_board = np.array([[0, 0, 0], [w_m, 0, 0], [w_m, h_m, 0], [0, h_m, 0]], dtype=float)
    outline_cam = outline_board @ T_color_from_board[:3, :3].T + T_color_from_board[:3, 3]
    if np.any(outline_cam[:, 2] <= 1e-3):
        return img                              # (partly) behind the camera: not drawn
    uv = color_intrinsics.project(outline_cam)
    x0 = int(max(0, np.floor(uv[:, 0].min()) - 1))
    y0 = int(max(0, np.floor(uv[:, 1].min()) - 1))
    x1 = int(min(w_img, np.ceil(uv[:, 0].max()) + 2))
    y1 = int(min(h_img, np.ceil(uv[:, 1].max()) + 2))
    if x1 <= x0 or y1 <= y0:
        return img
    tex = board_texture(spec)
    ppm = tex.shape[1] / w_m
    # texture pixel (centre at integer u) -> board metres
    A = np.array([[1 / ppm, 0, 0.5 / ppm], [0, 1 / ppm, 0.5 / ppm], [0, 0, 1.0]])
    R, t = T_color_from_board[:3, :3], T_color_from_board[:3, 3]
    H = color_intrinsics.matrix @ np.column_stack([R[:, 0], R[:, 1], t])
    s = int(supersample)
    S = np.array([[s, 0, (s - 1) / 2 - s * x0], [0, s, (s - 1) / 2 - s * y0], [0, 0, 1.0]])
    M = S @ H @ A
    size = ((x1 - x0) * s, (y1 - y0) * s)
    warped = cv2.warpPerspective(tex, M, size, flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT)
    alpha = cv2.warpPerspective(np.ones_like(tex, dtype=np.float32), M, size, flags=cv2.INTER_LINEAR,
                                borderMode=cv2.BORDER_CONSTANT, borderValue=0)
    # the texture is far finer than the super-sampled patch: average it down before sampling
    # would be the exact filter; the s-fold box filter below removes the visible aliasing.
    warped = cv2.resize(warped.astype(np.float32), (x1 - x0, y1 - y0), interpolation=cv2.INTER_AREA)
    alpha = cv2.resize(alpha, (x1 - x0, y1 - y0), interpolation=cv2.INTER_AREA)
    if visible_mask is not None:
        alpha = alpha * np.asarray(visible_mask[y0:y1, x0:x1], dtype=np.float32)
    g = warped / 255.0
    black, white = np.asarray(black_rgb, float), np.asarray(white_rgb, float)
    board_rgb = black + g[..., None] * (white - black)
    patch = img[y0:y1, x0:x1].astype(np.float32)
    a = alpha[..., None]
    img[y0:y1, x0:x1] = np.clip(np.rint(patch * (1 - a) + board_rgb * a), 0, 255).astype(np.uint8)
    return img


def main(argv: list[str] | None = None) -> int:
    """Write the printable board: python -m calibration.charuco board.png"""
    argv = sys.argv[1:] if argv is None else argv
    path = argv[0] if argv else "station_charuco_board.png"
    cv2.imwrite(path, board_texture(STATION_BOARD))
    w, h = STATION_BOARD.size_m
    print(f"wrote {path}: print at exactly {w * 1000:.0f} x {h * 1000:.0f} mm "
          f"({STATION_BOARD.squares_x}x{STATION_BOARD.squares_y} squares of "
          f"{STATION_BOARD.square_m * 1000:.0f} mm, {STATION_BOARD.dictionary})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
