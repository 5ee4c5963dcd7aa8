"""The hooks in .pre-commit-hooks.yaml, run through the real pre-commit.

A scratch git repository holds one commit of this working tree (committed or
not): the hook repository. A second scratch repository plays the user's project:
its `.pre-commit-config.yaml` names the hook repository at that commit, and
`pre-commit run HOOK --files ...` does what it does on a user's commit: clone the
hook repository, `pip install .` it into a fresh virtualenv, run the hook's
`entry` on the files.

`pre-commit try-repo` would do the same in one command, but it keeps its hook
environments in a private temporary directory and ignores PRE_COMMIT_HOME, so
every call would rebuild the environment. With `run`, PRE_COMMIT_HOME is shared
by the session: the environment is built once and the other tests reuse it.
Building it needs the package index, so the module is marked slow.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

REPO_ROOT = Path(__file__).resolve().parents[1]

# Building the hook environment (a virtualenv plus `pip install .`) is the slow
# part; afterwards one hook run takes about a second.
HOOK_TIMEOUT_S = 600

# Commits in the scratch repositories must not depend on the user's git setup
# (no name configured, signing required, hook templates, ...).
GIT_ENV = {
    "GIT_AUTHOR_NAME": "recipekit tests",
    "GIT_AUTHOR_EMAIL": "tests@recipekit.invalid",
    "GIT_COMMITTER_NAME": "recipekit tests",
    "GIT_COMMITTER_EMAIL": "tests@recipekit.invalid",
    "GIT_CONFIG_GLOBAL": os.devnull,
    "GIT_CONFIG_NOSYSTEM": "1",
}

GOOD_RECIPE = """\
recipe demo {
  seed = 1
}

source rows {
  from = "rows.jsonl"
  schema {
    text: str
  }
}

template echo on rows {
  instruction = "Repeat the text."
  input = "{text}"
  output = "{text}"
}

mix train {
  echo = 100%
}

output train {
  to = "train.jsonl"
}
"""

# GOOD_RECIPE with the layout spoiled: wrong indentation, no spaces around `=`,
# no blank lines between blocks, trailing blanks. The same recipe to the parser.
UNFORMATTED_RECIPE = """\
recipe demo {
    seed=1
}
source rows {
        from="rows.jsonl"
  schema {
 text: str
  }
}
template echo on rows {
  instruction   =   "Repeat the text."   
  input="{text}"
  output="{text}"
}


mix train {
echo=100%
}
output train {
  to="train.jsonl"
}
"""

# The opening brace is never closed: a syntax error on line 1.
BAD_RECIPE = "source s {\n"

ROWS_JSONL = '{"text": "hi"}\n'

ANSI_ESCAPE = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
DIAGNOSTIC_CODE = re.compile(r"\b[A-Z]\d{3}\b")


def pre_commit_command() -> list[str]:
    """The pre-commit installed next to this Python, or its module as a fallback."""
    scripts = Path(sys.executable).parent
    for name in ("pre-commit", "pre-commit.exe"):
        if (scripts / name).is_file():
            return [str(scripts / name)]
    return [sys.executable, "-m", "pre_commit"]


def git(cwd: Path, *args: str) -> None:
    subprocess.run(
        ["git", *args],
        cwd=cwd,
        env={**os.environ, **GIT_ENV},
        check=True,
        capture_output=True,
    )


def working_tree_files(root: Path) -> list[str] | None:
    """Tracked and untracked-but-not-ignored files, or None outside a git checkout."""
    try:
        listed = subprocess.run(
            ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
            cwd=root,
            check=True,
            capture_output=True,
        ).stdout
    except (OSError, subprocess.CalledProcessError):
        return None
    return [name for name in listed.decode("utf-8").split("\0") if name]


def copy_working_tree(root: Path, dest: Path) -> None:
    """Copy the files git would see in `root` (no .venv, build/ or caches) to `dest`."""
    names = working_tree_files(root)
    if names is None:
        shutil.copytree(
            root,
            dest,
            dirs_exist_ok=True,
            ignore=shutil.ignore_patterns(
                ".git", ".venv", "build", "dist", "*.egg-info", "__pycache__",
                ".pytest_cache", ".hypothesis",
            ),
        )
        return
    for name in names:
        source = root / name
        if source.is_file():  # a tracked file deleted from the working tree is skipped
            target = dest / name
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target)


@pytest.fixture(scope="session")
def hook_repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A git repository whose only commit is this working tree: what try-repo clones."""
    repo = tmp_path_factory.mktemp("hook-repo")
    copy_working_tree(REPO_ROOT, repo)
    assert (repo / ".pre-commit-hooks.yaml").is_file()
    git(repo, "init", "-q")
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "--no-verify", "-m", "snapshot of the working tree")
    return repo


@pytest.fixture(scope="session")
def hook_config(hook_repo: Path) -> str:
    """A user's .pre-commit-config.yaml that uses both hooks of `hook_repo`."""
    head = subprocess.run(
        ["git", "rev-parse", "HEAD"], cwd=hook_repo, check=True, capture_output=True, text=True
    ).stdout.strip()
    return (
        "repos:\n"
        f"-   repo: {hook_repo.as_posix()}\n"
        f"    rev: {head}\n"
        "    hooks:\n"
        "    -   id: recipekit-check\n"
        "    -   id: recipekit-fmt\n"
    )


@pytest.fixture(scope="session")
def pre_commit_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("pre-commit-home")


@pytest.fixture
def project(tmp_path: Path, hook_config: str) -> Path:
    """The user's repository, set up to use the hooks, in which they run."""
    git(tmp_path, "init", "-q")
    add_files(tmp_path, {".pre-commit-config.yaml": hook_config})
    return tmp_path


def add_files(project: Path, files: dict[str, str]) -> None:
    """Write and stage files: pre-commit sees a rewrite only as a diff to the index."""
    for name, text in files.items():
        (project / name).write_text(text, encoding="utf-8")
    git(project, "add", "--", *files)


def run_hook(
    project: Path, home: Path, hook_id: str, *files: str
) -> subprocess.CompletedProcess[str]:
    """`pre-commit run` one hook on `files`; stdout and stderr together, no colour."""
    env = {**os.environ, **GIT_ENV, "PRE_COMMIT_HOME": str(home), "NO_COLOR": "1"}
    env.pop("FORCE_COLOR", None)
    proc = subprocess.run(
        [
            *pre_commit_command(), "run", hook_id, "--color", "never", "--files", *files,
        ],
        cwd=project,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        timeout=HOOK_TIMEOUT_S,
    )
    proc.stdout = ANSI_ESCAPE.sub("", proc.stdout)
    return proc


def hook_result_line(output: str, hook_name: str) -> str:
    """pre-commit's status line for the hook: `recipekit check....Failed`."""
    for line in output.splitlines():
        if line.startswith(hook_name + "."):
            return line
    raise AssertionError(f"pre-commit never ran {hook_name!r}:\n{output}")


# -------------------------------------------------------------- recipekit-check


def test_check_hook_fails_on_a_syntax_error_and_points_at_it(
    project: Path, pre_commit_home: Path
) -> None:
    add_files(project, {"bad.recipe": BAD_RECIPE})

    proc = run_hook(project, pre_commit_home, "recipekit-check", "bad.recipe")

    assert proc.returncode == 1, proc.stdout
    assert hook_result_line(proc.stdout, "recipekit check").endswith("Failed"), proc.stdout
    assert "- exit code: 1" in proc.stdout, proc.stdout  # 1 = errors in the recipe
    assert "Traceback" not in proc.stdout, proc.stdout
    assert DIAGNOSTIC_CODE.search(proc.stdout), proc.stdout
    assert re.search(r"bad\.recipe:\d+:\d+", proc.stdout), proc.stdout


def test_check_hook_passes_a_good_recipe(
    project: Path, pre_commit_home: Path
) -> None:
    add_files(project, {"good.recipe": GOOD_RECIPE, "rows.jsonl": ROWS_JSONL})

    proc = run_hook(project, pre_commit_home, "recipekit-check", "good.recipe")

    assert proc.returncode == 0, proc.stdout
    assert hook_result_line(proc.stdout, "recipekit check").endswith("Passed"), proc.stdout


def test_check_hook_only_looks_at_recipe_files(
    project: Path, pre_commit_home: Path
) -> None:
    add_files(project, {"notes.txt": BAD_RECIPE})

    proc = run_hook(project, pre_commit_home, "recipekit-check", "notes.txt")

    assert proc.returncode == 0, proc.stdout
    assert hook_result_line(proc.stdout, "recipekit check").endswith("Skipped"), proc.stdout


# ---------------------------------------------------------------- recipekit-fmt


def test_fmt_hook_rewrites_an_unformatted_recipe_and_fails(
    project: Path, pre_commit_home: Path
) -> None:
    add_files(project, {"messy.recipe": UNFORMATTED_RECIPE, "rows.jsonl": ROWS_JSONL})

    proc = run_hook(project, pre_commit_home, "recipekit-fmt", "messy.recipe")

    assert proc.returncode == 1, proc.stdout
    assert hook_result_line(proc.stdout, "recipekit fmt").endswith("Failed"), proc.stdout
    assert "files were modified by this hook" in proc.stdout, proc.stdout
    rewritten = (project / "messy.recipe").read_text(encoding="utf-8")
    assert rewritten != UNFORMATTED_RECIPE

    # Once the rewrite is staged, as a user would, the hook has nothing left to do.
    git(project, "add", "messy.recipe")
    again = run_hook(project, pre_commit_home, "recipekit-fmt", "messy.recipe")
    assert again.returncode == 0, again.stdout
    assert (project / "messy.recipe").read_text(encoding="utf-8") == rewritten


def test_fmt_hook_passes_a_formatted_recipe(
    project: Path, pre_commit_home: Path
) -> None:
    add_files(project, {"good.recipe": GOOD_RECIPE, "rows.jsonl": ROWS_JSONL})

    proc = run_hook(project, pre_commit_home, "recipekit-fmt", "good.recipe")

    assert proc.returncode == 0, proc.stdout
    assert hook_result_line(proc.stdout, "recipekit fmt").endswith("Passed"), proc.stdout
    assert (project / "good.recipe").read_text(encoding="utf-8") == GOOD_RECIPE


def test_fmt_hook_leaves_a_broken_recipe_alone_and_fails(
    project: Path, pre_commit_home: Path
) -> None:
    add_files(project, {"bad.recipe": BAD_RECIPE})

    proc = run_hook(project, pre_commit_home, "recipekit-fmt", "bad.recipe")

    assert proc.returncode == 1, proc.stdout
    assert "Traceback" not in proc.stdout, proc.stdout
    assert re.search(r"bad\.recipe:\d+:\d+", proc.stdout), proc.stdout
    assert (project / "bad.recipe").read_text(encoding="utf-8") == BAD_RECIPE
