"""The platform's code, identical in every team repo: the shared-storage IO manager and its tools.

Template-owned: `cruft update` replaces this file; changes go to the platform team's template.
A team repo's storage.py gives it the org's settings; nothing here names a team or an org.
"""
