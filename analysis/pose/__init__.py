"""2D pose estimation on the color stream: the estimator seam, MediaPipe Pose, and a test-only
detector. See docs/SKELETON.md."""
