"""Image repositories: what registries accept is accepted, and the deploy logs in to that host."""

import pytest
import yaml

from fleet.org import org_settings
from testkit.answers import answers
from testkit.repos import bake_template

ACCEPTED = {
    "ghcr": "ghcr.io/example-org/sales",
    "port": "registry.example.com:5000/data/sales",
    "localhost": "localhost:5000/sales",
    "docker-hub": "docker.io/example-org/sales",
}


def ecr_repository() -> str:
    """An ECR repository in the org's region, whatever registry the org itself uses."""
    return f"123456789012.dkr.ecr.{org_settings()['region']}.amazonaws.com/sales"


@pytest.mark.parametrize("repository", [*ACCEPTED.values(), "ecr"], ids=[*ACCEPTED, "ecr"])
def test_real_registry_references_are_accepted(pre_gen, repository: str) -> None:
    repository = ecr_repository() if repository == "ecr" else repository
    assert pre_gen.problems(answers(deployment="hybrid-k8s", image_repository=repository)) == []


def test_a_docker_hub_short_name_is_refused_with_the_host_to_write(pre_gen) -> None:
    given = answers(deployment="hybrid-k8s", image_repository="example-org/sales")
    assert pre_gen.problems(given) == [
        "image_repository 'example-org/sales' does not start with a registry host: Docker would "
        "read it as Docker Hub's docker.io/example-org/sales. Write the host first, like "
        "docker.io/example-org/sales or ghcr.io/example-org/sales"
    ]


def test_a_docker_hub_repository_needs_its_namespace(pre_gen) -> None:
    given = answers(deployment="hybrid-ecs", image_repository="docker.io/sales")
    assert pre_gen.problems(given) == [
        "image_repository 'docker.io/sales' has no Docker Hub namespace. Write it like "
        "docker.io/<your Docker Hub organisation>/sales"
    ]


def login_steps(repository: str, tmp_path) -> dict[str, dict]:
    repo = bake_template(tmp_path, deployment="hybrid-k8s", image_repository=repository)
    deploy = yaml.safe_load((repo / ".github/workflows/deploy.yml").read_text())
    steps = deploy["jobs"]["deploy"]["steps"]
    return {
        step["name"]: step
        for step in steps
        if step["name"].startswith(("Log in", "Assume")) or "tags" in step.get("with", {})
    }


@pytest.mark.parametrize("kind", ACCEPTED)
def test_the_deploy_logs_in_to_the_repositorys_own_host(kind: str, tmp_path) -> None:
    repository = ACCEPTED[kind]
    host = repository.split("/")[0]
    steps = login_steps(repository, tmp_path)
    login = steps[f"Log in to {host}"]
    assert "docker/login-action@" in login["uses"]
    assert login["with"]["registry"] == host
    if host == "ghcr.io":
        assert login["with"]["password"] == "${{ secrets.GITHUB_TOKEN }}"
    else:
        assert login["with"]["password"] == "${{ secrets.REGISTRY_PASSWORD }}"
    assert steps["Build and push the image"]["with"]["tags"].startswith(f"{repository}:")
    assert len(steps) == 2


def test_the_deploy_logs_in_to_ecr_in_the_registrys_region(tmp_path) -> None:
    repository = ecr_repository()
    steps = login_steps(repository, tmp_path)
    region = repository.split(".")[3]
    assert steps["Assume the image push role"]["with"]["aws-region"] == region
    assert "aws-actions/amazon-ecr-login@" in steps["Log in to Amazon ECR"]["uses"]
    assert steps["Build and push the image"]["with"]["tags"].startswith(f"{repository}:")
    assert len(steps) == 3
