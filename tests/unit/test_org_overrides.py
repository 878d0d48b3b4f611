"""No route lets one team change the org's storage settings: each attempt is refused or inert."""

import json
from pathlib import Path

import pytest
from cookiecutter.exceptions import FailedHookException

from testkit.repos import bake_template, cli, snapshot

REFUSAL = (
    "ERROR: Storage and other org settings are org-wide and cannot be set per team (_org was "
    "overridden). Remove the override; the platform team changes them in templates/org.jinja."
)
OVERRIDE = {"_org": '{"buckets": {"prod": "my-own-bucket"}}'}


def assert_refused(result, output_dir: Path) -> None:
    assert result.returncode != 0
    assert REFUSAL in result.stderr
    assert list(output_dir.iterdir()) == []


def test_command_line_key_value_is_refused(template_repo: Path, tmp_path: Path) -> None:
    result = cli(
        "cookiecutter",
        "--no-input",
        "-o",
        tmp_path,
        template_repo,
        "_org=my-own-bucket",
        cwd=tmp_path,
    )
    assert_refused(result, tmp_path)


def test_user_config_default_context_is_refused(template_repo: Path, tmp_path: Path) -> None:
    config = tmp_path.parent / "cookiecutter-config.yaml"
    config.write_text(f"default_context:\n  _org: {json.dumps(OVERRIDE['_org'])}\n")
    result = cli(
        "cookiecutter",
        "--no-input",
        "--config-file",
        config,
        "-o",
        tmp_path,
        template_repo,
        cwd=tmp_path,
    )
    assert_refused(result, tmp_path)


def test_python_api_extra_context_is_refused(bake, tmp_path: Path, capfd) -> None:
    with pytest.raises(FailedHookException):
        bake(**OVERRIDE)
    assert REFUSAL in capfd.readouterr().err
    assert list(tmp_path.iterdir()) == []


def test_edited_replay_file_is_refused(template_repo: Path, tmp_path: Path) -> None:
    replay_dir, output_dir = tmp_path / "replay", tmp_path / "out"
    output_dir.mkdir()
    config = tmp_path / "config.yaml"
    config.write_text(f"replay_dir: {replay_dir}\n")
    first = cli(
        "cookiecutter",
        "--no-input",
        "--config-file",
        config,
        "-o",
        tmp_path / "first",
        template_repo,
        cwd=tmp_path,
    )
    assert first.returncode == 0, first.stderr
    (replay,) = replay_dir.glob("*.json")
    context = json.loads(replay.read_text())
    context["cookiecutter"] |= OVERRIDE
    replay.write_text(json.dumps(context))
    result = cli(
        "cookiecutter",
        "--replay-file",
        replay,
        "--config-file",
        config,
        "-o",
        output_dir,
        template_repo,
        cwd=tmp_path,
    )
    assert_refused(result, output_dir)


def test_cruft_create_extra_context_is_refused(template_repo: Path, tmp_path: Path) -> None:
    result = cli(
        "cruft", "create", "--no-input", "--extra-context", json.dumps(OVERRIDE),
        "--output-dir", tmp_path, template_repo, cwd=tmp_path,
    )  # fmt: skip
    assert_refused(result, tmp_path)


def test_storage_keys_the_template_does_not_ask_for_change_nothing(tmp_path: Path) -> None:
    plain = bake_template(tmp_path / "plain")
    attempt = bake_template(
        tmp_path / "attempt", bucket="my-own-bucket", buckets={"prod": "x"}, storage_prefix="x"
    )
    assert snapshot(attempt) == snapshot(plain)
