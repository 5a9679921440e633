"""The lab station application: CLI, sessions, protocols, recorder."""
from importlib.metadata import PackageNotFoundError, version as _version

try:
    __version__ = _version("station")
except PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0.0.0+source"
