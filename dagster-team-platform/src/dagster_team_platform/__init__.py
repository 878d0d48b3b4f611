"""The platform's code, identical in every team repo: shared storage and upstream monitoring.

Template-owned: `cruft update` replaces this file; changes go to the platform team's template.
A team repo's storage.py gives it the org's settings; nothing here names a team or an org.
"""
