"""A team's local secrets stay out of git: the quick start's `git add -A` never commits `.env`."""

import subprocess

from testkit.repos import bake_template, git


def test_a_dotenv_with_a_secret_stays_out_of_git_status(tmp_path) -> None:
    repo = bake_template(tmp_path)
    git("init", "-q", "-b", "main", cwd=repo)
    (repo / ".env").write_text("WAREHOUSE_PASSWORD=hunter2\n")
    status = subprocess.run(
        ["git", "status", "--porcelain", "--untracked-files=all"],
        cwd=repo, capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    assert ".gitignore" in status  # the repo's files are there to add
    assert ".env" not in status.split()
