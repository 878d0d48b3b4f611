"""Arbitrary text in any free-text answer yields a valid repo or a clean refusal, never a broken one."""

import tempfile
import tomllib
from collections import Counter
from pathlib import Path

import yaml
from cookiecutter.exceptions import CookiecutterException
from dagster_cloud_cli.config.models import load_dagster_cloud_yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from jinja2 import TemplateError

from testkit.repos import bake_template

TRICKY = [
    "{{ cookiecutter.team_slug }}", "{% if true %}x{% endif %}", "${{ github.token }}", "${{",
    "'", '"', '"""', "\\", "\n", "\r\n", "\t", "\x00", "#", ": ", "- ", "&anchor", "*alias", "!tag",
    "|", ">", "%", "@", "`", "[", "]", "{", "}", "---", "...", "key: value", "\u2028", "\ufeff",
    "é", "数据", "🙂", "NULL", "true", "yes", "off", "~", "0x1F", "1e3", "x" * 300, " ", "", "finance/revenue", "@example-org/x", "ghcr.io/example-org/x",
]  # fmt: skip
VALID = {
    "team_name": "Sales Analytics",
    "team_slug": "sales",
    "owner": "@example-org/sales",
    "image_repository": "ghcr.io/example-org/sales",
    "upstream_assets": "finance/revenue",
}
printable = st.text(st.characters(categories=["L", "N", "P", "S", "Zs"]), max_size=12)
pieces = st.lists(
    st.one_of(st.sampled_from(TRICKY), st.text(max_size=12), printable), max_size=3
).map("".join)
outcomes: Counter[str] = Counter()


def assert_repo_is_valid(repo: Path) -> None:
    for path in (p for p in repo.rglob("*") if p.is_file()):
        text = path.read_text()
        if path.suffix in (".yaml", ".yml"):
            yaml.safe_load(text)
        elif path.suffix == ".toml":
            tomllib.loads(text)
        elif path.suffix == ".py":
            compile(text, str(path), "exec")
    load_dagster_cloud_yaml((repo / "dagster_cloud.yaml").read_text())


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(field=st.sampled_from(sorted(VALID)), start_valid=st.booleans(), tail=pieces)
def test_free_text_yields_a_valid_repo_or_a_clean_refusal(
    field: str, start_valid: bool, tail: str
) -> None:
    answers = {field: (VALID[field] if start_valid else "") + tail}
    if field == "image_repository":
        answers["deployment"] = "hybrid-k8s"
    with tempfile.TemporaryDirectory() as folder:
        output_dir = Path(folder)
        try:
            repo = bake_template(output_dir, **answers)
        except (CookiecutterException, TemplateError):
            outcomes["refused"] += 1
            assert list(output_dir.iterdir()) == []
        else:
            outcomes["generated"] += 1
            assert_repo_is_valid(repo)
    print(f"free-text examples so far: {dict(outcomes)}")


def test_a_slug_too_long_for_a_folder_name_is_refused_like_any_other(tmp_path: Path) -> None:
    """cookiecutter makes the folder before any hook runs: its name must be creatable."""
    try:
        bake_template(tmp_path, team_slug="x" * 300)
    except CookiecutterException:
        assert list(tmp_path.iterdir()) == []
    else:
        raise AssertionError("a 300-character slug was accepted")
