"""The team's assets and other definitions: dg loads every module in this folder.

Team-owned: `cruft update` never touches this file.
"""
