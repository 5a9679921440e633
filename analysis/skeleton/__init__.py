"""Lifting 2D landmarks to 3D joint centres with depth, and the skeletal-model fit.
See docs/SKELETON.md."""
