"""Bake the template the way a team does, and load its hooks as modules for direct testing."""

import importlib.util
import json
import tempfile
from collections.abc import Callable
from pathlib import Path
from types import ModuleType

import pytest
from cookiecutter.environment import StrictEnvironment
from cookiecutter.main import cookiecutter

TEMPLATE = Path(__file__).resolve().parents[1]
CONTEXT = json.loads((TEMPLATE / "cookiecutter.json").read_text())

Bake = Callable[..., Path]


def load_hook(name: str) -> ModuleType:
    """Render a hook with cookiecutter's own Jinja environment and import it (main() not run)."""
    source = (TEMPLATE / "hooks" / f"{name}.py").read_text()
    rendered = Path(tempfile.mkdtemp(prefix="hook-")) / f"{name}.py"
    rendered.write_text(StrictEnvironment(context={}).from_string(source).render(cookiecutter={}))
    spec = importlib.util.spec_from_file_location(name, rendered)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def bake_template(output_dir: Path, **answers: object) -> Path:
    """Generate a team repo with cookiecutter's API, no prompts, and return its path."""
    return Path(
        cookiecutter(
            str(TEMPLATE),
            no_input=True,
            extra_context=answers,
            output_dir=str(output_dir),
            default_config=True,
        )
    )


@pytest.fixture
def bake(tmp_path: Path) -> Bake:
    return lambda **answers: bake_template(tmp_path, **answers)


@pytest.fixture(scope="session")
def pre_gen() -> ModuleType:
    return load_hook("pre_gen_project")
