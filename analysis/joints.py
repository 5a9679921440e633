"""Names of the skeleton's joint centres, shared by the simulator's truth, the pose lifting and
the kinematics. Arrays of joints are (T, J, 3) with J in the order of JOINT_NAMES."""

JOINT_NAMES = (
    "head", "neck",
    "left_shoulder", "right_shoulder",
    "left_elbow", "right_elbow",
    "left_wrist", "right_wrist",
    "left_hip", "right_hip",
    "left_knee", "right_knee",
    "left_ankle", "right_ankle",
    "left_heel", "right_heel",
    "left_toe", "right_toe",
)
JOINT_INDEX = {name: i for i, name in enumerate(JOINT_NAMES)}
SIDES = ("left", "right")


def joint(side: str, name: str) -> int:
    """Index of e.g. joint('left', 'knee')."""
    return JOINT_INDEX[f"{side}_{name}"]
