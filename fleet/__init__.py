"""The fleet audit: every team repository checked at once against the org's invariants.

Each repository passes its own checks alone; what only shows across repositories (two code
locations with one name, an upstream nobody defines, a cycle, a rogue bucket) is checked here,
from the repositories' files, without installing them. Run `python -m fleet audit --help`.
"""
