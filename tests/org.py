"""The org settings as the templates see them, read from templates/org.jinja with Jinja itself."""

from conftest import TEMPLATE
from jinja2 import Environment, FileSystemLoader


def org_settings() -> dict:
    loader = FileSystemLoader(TEMPLATE / "templates")
    return Environment(loader=loader).get_template("org.jinja").module.org
