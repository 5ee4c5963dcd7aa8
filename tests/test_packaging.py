"""The install layout: the top-level folders dsl/ compiler/ runtime/ grammar/ specs/
become the subpackages of ONE import package, `recipekit`.

pyproject.toml maps each folder with setuptools `package-dir` and lists every
subpackage by name. An editable install hides a subpackage missing from that list
(it imports from the source tree anyway) while the wheel leaves it out, so the
list is compared with the folders here and the wheel's contents are checked too.
These tests import only the installed `recipekit.*`: run them against both
`pip install -e .` and `pip install .` (.ci/run does).
"""

from __future__ import annotations

import ast
import importlib.resources
import os
import re
import shutil
import subprocess
import sys
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib

REPO_ROOT = Path(__file__).resolve().parents[1]
MAPPED = ("dsl", "compiler", "runtime", "grammar", "specs")


def setuptools_config() -> dict:
    with open(REPO_ROOT / "pyproject.toml", "rb") as f:
        return tomllib.load(f)["tool"]["setuptools"]


def source_files(folder: str, pattern: str) -> list[Path]:
    """Files under a mapped folder, caches left out."""
    return sorted(
        p for p in (REPO_ROOT / folder).rglob(pattern)
        if p.is_file() and "__pycache__" not in p.parts
    )


def import_name(folder: Path) -> str:
    """`compiler/passes` -> `recipekit.compiler.passes`."""
    return ".".join(("recipekit", *folder.relative_to(REPO_ROOT).parts))


def subprocess_env() -> dict[str, str]:
    """This environment, without a PYTHONPATH that could put the source tree on sys.path."""
    env = dict(os.environ)
    env.pop("PYTHONPATH", None)
    return env


# ----------------------------------------------------- (a) pyproject is complete


def test_each_top_level_folder_is_mapped_to_a_recipekit_subpackage() -> None:
    assert setuptools_config()["package-dir"] == {f"recipekit.{name}": name for name in MAPPED}


def test_every_folder_with_an_init_is_a_listed_package() -> None:
    listed = set(setuptools_config()["packages"])
    folders = {import_name(init.parent) for name in MAPPED for init in source_files(name, "__init__.py")}
    assert sorted(folders - listed) == [], "add these to [tool.setuptools] packages"


def test_every_listed_package_is_a_folder_with_an_init() -> None:
    package_dir = setuptools_config()["package-dir"]
    missing = []
    for package in setuptools_config()["packages"]:
        mapped = max((p for p in package_dir if package == p or package.startswith(p + ".")), key=len)
        folder = REPO_ROOT / package_dir[mapped] / Path(*package[len(mapped):].split(".")[1:])
        if not (folder / "__init__.py").is_file():
            missing.append(f"{package} ({folder.relative_to(REPO_ROOT)}/__init__.py)")
    assert missing == []


def test_every_folder_of_python_modules_has_an_init() -> None:
    # Without one a folder is a namespace package: importlib.resources fails on it
    # under an editable install, and the wheel leaves it out unless it is listed.
    bare = sorted(
        {str(p.parent.relative_to(REPO_ROOT)) for name in MAPPED for p in source_files(name, "*.py")}
        - {str(p.parent.relative_to(REPO_ROOT)) for name in MAPPED for p in source_files(name, "__init__.py")}
    )
    assert bare == []


# -------------------------------------------------- (b) nothing else at the top


@pytest.mark.parametrize("name", MAPPED)
def test_no_top_level_module_is_installed(name: str, tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-c", f"import {name}"],
        cwd=tmp_path, env=subprocess_env(), capture_output=True, text=True,
    )
    assert proc.returncode != 0
    assert f"No module named '{name}'" in proc.stderr, proc.stderr


def test_recipekit_is_a_namespace_of_exactly_its_subpackages(tmp_path: Path) -> None:
    script = (
        "import importlib, importlib.util, recipekit\n"
        "assert getattr(recipekit, '__file__', None) is None, recipekit.__file__\n"
        f"for name in {MAPPED!r}:\n"
        "    importlib.import_module('recipekit.' + name)\n"
        "for name in ('tests', 'docs', 'examples', 'bench'):\n"
        "    assert importlib.util.find_spec('recipekit.' + name) is None, name\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", script], cwd=tmp_path, env=subprocess_env(), capture_output=True, text=True
    )
    assert proc.returncode == 0, proc.stderr


# ------------------------------------------------------------ (c) package data


@pytest.mark.parametrize("name", MAPPED)
def test_each_subpackage_can_read_its_files(name: str) -> None:
    # Fails (NotADirectoryError or ValueError) for a folder without __init__.py
    # under an editable install: aesthetics.md section 12.
    assert importlib.resources.files(f"recipekit.{name}").joinpath("py.typed").is_file()


def test_the_grammar_is_package_data() -> None:
    assert importlib.resources.files("recipekit.grammar").joinpath("recipe.lark").is_file()


def test_the_schemas_are_package_data() -> None:
    shipped = {p.name for p in importlib.resources.files("recipekit.specs").iterdir() if p.name.endswith(".json")}
    assert shipped, "recipekit.specs holds no *.json schema"
    assert shipped == {p.name for p in (REPO_ROOT / "specs").glob("*.json")}


def test_the_explanations_are_package_data() -> None:
    pages = sorted(p.name for p in (REPO_ROOT / "dsl" / "explanations").glob("*.md"))
    if not pages:
        pytest.skip("dsl/explanations/ has no pages yet")
    folder = importlib.resources.files("recipekit.dsl").joinpath("explanations")
    assert [name for name in pages if not folder.joinpath(name).is_file()] == []


# ------------------------------------ (d) the runtime reads plans, nothing else

FORBIDDEN_IN_RUNTIME = ("recipekit.dsl", "recipekit.compiler", "dsl", "compiler")


def resolve(module: str | None, level: int, package: str) -> str:
    """The absolute name of `from <level dots><module> import ...` inside `package`."""
    if level == 0:
        return module or ""
    parts = package.split(".")
    base = parts[: len(parts) - (level - 1)]
    return ".".join([*base, module] if module else base)


def imported_names(tree: ast.AST, package: str) -> Iterator[tuple[int, str]]:
    """(line, absolute module name) for every import in `tree`, dynamic ones included."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom):
            base = resolve(node.module, node.level, package)
            yield node.lineno, base
            for alias in node.names:  # `from .. import dsl` imports recipekit.dsl
                yield node.lineno, f"{base}.{alias.name}"
        elif (
            isinstance(node, ast.Call)
            and node.args
            and isinstance(node.args[0], ast.Constant)
            and isinstance(node.args[0].value, str)
            and (
                (isinstance(node.func, ast.Name) and node.func.id in ("__import__", "import_module"))
                or (isinstance(node.func, ast.Attribute) and node.func.attr == "import_module")
            )
        ):
            yield node.lineno, node.args[0].value


def forbidden_imports(source: str, package: str) -> list[str]:
    return [
        f"line {line}: {name}"
        for line, name in imported_names(ast.parse(source), package)
        if any(name == bad or name.startswith(bad + ".") for bad in FORBIDDEN_IN_RUNTIME)
    ]


@pytest.mark.parametrize(
    "source",
    [
        "from ..dsl import parser",
        "from ..compiler.passes import PASSES",
        "from .. import compiler",
        "import recipekit.dsl.source",
        "from recipekit import dsl",
        "from recipekit.compiler import cli",
        "import importlib\nimportlib.import_module('recipekit.dsl')",
        "def f():\n    from ..dsl.codes import CODES",
    ],
)
def test_the_import_scan_catches(source: str) -> None:
    assert forbidden_imports(source, "recipekit.runtime") != []


@pytest.mark.parametrize(
    "source",
    ["from . import mix", "from .mix import mix_rows", "from ..specs import SCHEMA", "import xxhash"],
)
def test_the_import_scan_allows(source: str) -> None:
    assert forbidden_imports(source, "recipekit.runtime") == []


def test_the_runtime_imports_neither_dsl_nor_compiler() -> None:
    found = []
    for path in source_files("runtime", "*.py"):
        folder = path.parent.relative_to(REPO_ROOT)
        package = ".".join(("recipekit", *folder.parts))
        for problem in forbidden_imports(path.read_text(encoding="utf-8"), package):
            found.append(f"{path.relative_to(REPO_ROOT)} {problem}")
    assert found == [], "the runtime reads plan.json and nothing else from the compiler"


# --------------------------------------------------------------- (e) the wheel


def copy_working_tree(root: Path, dest: Path) -> None:
    """Copy the files git would see in `root` (no .venv, build/ or caches) to `dest`."""
    try:
        listed = subprocess.run(
            ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
            cwd=root, check=True, capture_output=True,
        ).stdout
    except (OSError, subprocess.CalledProcessError):
        shutil.copytree(
            root, dest, dirs_exist_ok=True,
            ignore=shutil.ignore_patterns(
                ".git", ".venv", "build", "dist", "*.egg-info", "__pycache__", ".pytest_cache", ".hypothesis"
            ),
        )
        return
    for name in filter(None, listed.decode("utf-8").split("\0")):
        if (root / name).is_file():  # a tracked file deleted from the working tree is skipped
            (dest / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(root / name, dest / name)


@pytest.fixture(scope="module")
def wheel_source(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of this working tree, from which the wheel is built and to which it is compared.

    A copy because setuptools builds inside the source tree, where a stale build/
    could put deleted modules into the wheel and hide real omissions.
    """
    source = tmp_path_factory.mktemp("wheel-source")
    copy_working_tree(REPO_ROOT, source)
    return source


@pytest.fixture(scope="module")
def wheel(wheel_source: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    dist = tmp_path_factory.mktemp("dist")
    proc = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(dist), str(wheel_source)],
        stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=600,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    (built,) = dist.glob("recipekit-*.whl")
    return built


@pytest.fixture(scope="module")
def wheel_names(wheel: Path) -> list[str]:
    with zipfile.ZipFile(wheel) as zf:
        return zf.namelist()


@pytest.mark.slow
def test_the_wheel_holds_only_the_recipekit_package(wheel_names: list[str]) -> None:
    outside = [n for n in wheel_names if not re.match(r"recipekit/|recipekit-[^/]+\.dist-info/", n)]
    assert outside == []
    assert "recipekit/__init__.py" not in wheel_names  # the root stays a namespace package


@pytest.mark.slow
def test_the_wheel_holds_every_module_and_data_file(wheel_source: Path, wheel_names: list[str]) -> None:
    expected = [
        "recipekit/" + p.relative_to(wheel_source).as_posix()
        for name in MAPPED
        for pattern in ("*.py", "py.typed")
        for p in (wheel_source / name).rglob(pattern)
    ]
    expected += [f"recipekit/specs/{p.name}" for p in (wheel_source / "specs").glob("*.json")]
    expected.append("recipekit/grammar/recipe.lark")
    assert [name for name in expected if name not in wheel_names] == []


@pytest.mark.slow
def test_the_wheel_holds_the_explanations(wheel_source: Path, wheel_names: list[str]) -> None:
    pages = [f"recipekit/dsl/explanations/{p.name}" for p in (wheel_source / "dsl" / "explanations").glob("*.md")]
    if not pages:
        pytest.skip("dsl/explanations/ has no pages yet")
    assert [name for name in pages if name not in wheel_names] == []


@pytest.mark.slow
def test_the_wheel_declares_the_recipekit_command(wheel: Path) -> None:
    with zipfile.ZipFile(wheel) as zf:
        (name,) = [n for n in zf.namelist() if n.endswith(".dist-info/entry_points.txt")]
        entry_points = zf.read(name).decode("utf-8")
    assert "[console_scripts]" in entry_points
    assert re.search(r"^recipekit = recipekit\.compiler\.cli:main$", entry_points, re.M), entry_points
