"""The team's code location; definitions.py is its entry point.

Template-owned: `cruft update` replaces this file; changes go to the platform team's template.
"""
