"""The README runs as written (issue 26): every ```python block executes as pasted, the way transformers tests its
documentation, in a working directory that holds what the README's own earlier commands make; and its commands
write distinct folders and refuse in one line.

The commands run as the README writes them (each is checked to be in it), each script's `main` in the test's
process (conftest's `run_script`; the refused-folder check starts the command as a process), made fast by flags
appended after them (argparse keeps the last value): a few epochs instead of up to 1,000, no plots. ``extractors/`` comes from
the README's offline command (``convert_weights.py --random-init``), not from the downloaded weights. One input
cannot come from the README's commands here, and the workspace makes it otherwise:

- ``outputs/my-emomv``: the README trains it on the pairs ``create_pairs.py`` makes from the user's videos. Pairing
  needs at least 2 segments of each of 2 emotions in both splits (about 10 clips), and each clip costs a SlowFast
  forward pass of seconds on 2 CPU cores, so here it is a copy of ``outputs/retrieval`` (the same feature widths);
  ``extract_features.py`` still makes ``my_features`` from 2 synthetic clips in ``my_videos/``.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
README = REPO_ROOT / "README.md"

FAST = ["--max-epochs", "3", "--patience", "3", "--no-plots", "--no-progress"]
"""Appended to the README's training commands: a few epochs, no plots."""

NOT_RUN: dict[str, str] = {}
"""A line of a README block that cannot run offline -> why. The block is reported as skipped with that reason
(none today: the Hub id in the datasets block is in a comment)."""


@dataclass(frozen=True)
class Block:
    line: int
    code: str


def fenced_blocks(text: str, language: str) -> list[Block]:
    """The ```language blocks of ``text`` with the line number of their opening fence."""
    pattern = re.compile(rf"^```{language}\n(.*?)^```$", re.DOTALL | re.MULTILINE)
    return [Block(text.count("\n", 0, match.start()) + 1, match.group(1)) for match in pattern.finditer(text)]


def readme_commands(text: str) -> list[str]:
    """Every command of the README's ```bash blocks, continuation lines joined, comments dropped."""
    commands = []
    for block in fenced_blocks(text, "bash"):
        joined = re.sub(r"\s*\\\n\s*", " ", block.code)
        for line in joined.splitlines():
            line = line.split("#", 1)[0].strip()
            commands += [part.strip() for part in line.split("&&") if part.strip()]
    return commands


TEXT = README.read_text(encoding="utf-8")
BLOCKS = fenced_blocks(TEXT, "python")


def readme_command(command: str) -> list[str]:
    """``command`` as argv for this interpreter and this checkout's scripts, after checking the README has it."""
    assert command in readme_commands(TEXT), f"the README no longer has this command: {command}"
    argv = shlex.split(command)
    assert argv[0] == "python"
    return [sys.executable, str(REPO_ROOT / argv[1]), *argv[2:]]


@pytest.fixture(scope="module")
def workspace(release_dir: Path, tmp_path_factory: pytest.TempPathFactory, run_script) -> Path:
    """A working directory after the README's commands: ``datasets/emomv-c``, ``outputs/{retrieval,correspondence,
    tagger,my-emomv}``, ``extractors/``, ``my_videos/``, ``my_clip.mp4`` and ``my_features``."""
    pytest.importorskip("faiss")
    pytest.importorskip("av")
    sys.path.insert(0, str(REPO_ROOT / "tests" / "features"))
    try:
        from synthetic_media import write_clip
    finally:
        sys.path.pop(0)

    root = tmp_path_factory.mktemp("readme")

    def run(argv: list[str], cwd: Path) -> None:
        # The script's main in this process (conftest's run_script), from the folder the README runs it in:
        # each of these commands would otherwise start an interpreter that imports torch and transformers again.
        with pytest.MonkeyPatch.context() as patch:
            patch.chdir(cwd)
            done = run_script(argv[1], argv[2:])
        assert done.returncode == 0, f"{argv} failed:\n{done.stdout[-2000:]}\n{done.stderr[-4000:]}"

    build = readme_command(
        "python dataset_scripts/build_emomv.py --release-dir ../shared/emomv-release --dataset emomv-c "
        "--output-dir datasets"
    )
    run([*build, "--release-dir", str(release_dir)], root)
    for command in (
        "python examples/train.py --dataset datasets/emomv-c --task retrieval --output-dir outputs/retrieval",
        "python examples/train.py --dataset datasets/emomv-c --task correspondence --output-dir outputs/correspondence",
        "python examples/train.py --task tagging --dataset datasets/emomv-c --output-dir outputs/tagger "
        "--learning-rate 5e-4 --batch-size 30 --max-epochs 200 --patience 30 "
        "--config-overrides num_hidden_layers=2 --projections-from outputs/correspondence",
    ):
        run([*readme_command(command), *FAST], root)

    run(
        readme_command("python dataset_scripts/convert_weights.py --output-dir extractors --random-init"),
        root,
    )
    for emotion, tone_hz in (("exciting", 1_000.0), ("sad", 300.0)):
        (root / "my_videos" / emotion).mkdir(parents=True)
        write_clip(root / "my_videos" / emotion / f"{emotion}_clip.mp4", 2.0, tone_hz=tone_hz)
    write_clip(root / "my_clip.mp4", 2.0, tone_hz=600.0)
    extract = "python dataset_scripts/extract_features.py --media my_videos/ --output-dir my_features --extractor extractors"
    run([*readme_command(extract), "--no-progress"], root)
    shutil.copytree(root / "outputs" / "retrieval", root / "outputs" / "my-emomv")  # see the module docstring
    return root


@pytest.mark.parametrize("block", BLOCKS, ids=[f"README.md:{block.line}" for block in BLOCKS])
def test_readme_python_block_runs_as_pasted(block: Block, workspace: Path, monkeypatch):
    skipped = [reason for line, reason in NOT_RUN.items() if line in block.code]
    if skipped:
        pytest.skip(f"README.md:{block.line} does not run offline: {skipped[0]}")
    monkeypatch.chdir(workspace)
    # A fresh namespace per block: each block must define what it uses, as a reader pastes one block.
    exec(compile(block.code, f"README.md:{block.line}", "exec"), {"__name__": "__readme__"})


def test_every_not_run_entry_names_a_readme_block():
    for line in NOT_RUN:
        assert sum(line in block.code for block in BLOCKS) == 1, (
            f"NOT_RUN entry matches no single block: {line}"
        )


def _written_folder(argv: list[str]) -> str | None:
    """The folder a README command writes (``create_pairs.py``: OUTPUT_DIR/NAME), or None."""
    options = {argv[i]: argv[i + 1] for i in range(len(argv) - 1) if argv[i].startswith("--")}
    output = options.get("--output-dir") or options.get("--output")
    if output is None or output.isupper() or "build_emomv.py" in " ".join(argv) or "--random-init" in argv:
        # A placeholder (OUT, DIR), a build, which replaces its dataset folder by design, or the offline
        # conversion, which the README offers instead of the downloaded weights' one.
        return None
    name = options.get("--name")
    return f"{output.rstrip('/')}/{name}" if name else output.rstrip("/")


def test_readme_commands_write_distinct_folders_and_use_no_bare_launcher():
    written: dict[str, str] = {}
    for command in readme_commands(TEXT):
        argv = shlex.split(command)
        if argv[:2] == ["accelerate", "launch"]:
            # Without -q, Accelerate's launcher repeats a refused run's one-line error with a traceback.
            assert "-q" in argv or "--quiet" in argv, f"accelerate launch without -q: {command}"
        folder = _written_folder(argv)
        if folder is not None:
            assert folder not in written, (
                f"{folder} is written by both\n  {written[folder]}\nand\n  {command}"
            )
            written[folder] = command


def test_a_refused_output_folder_is_one_line(workspace: Path):
    # The README's Space command again, into the folder it wrote: one line, no traceback.
    command = "python examples/train.py --dataset datasets/emomv-c --task correspondence --output-dir outputs/correspondence"
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1"}
    completed = subprocess.run(
        readme_command(command), cwd=workspace, env=env, capture_output=True, text=True, timeout=300
    )
    assert completed.returncode == 2
    lines = completed.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: --output-dir outputs/correspondence already holds")


@pytest.mark.skipif(not (REPO_ROOT / ".git").exists(), reason="not a git checkout: no .gitignore to check")
def test_git_ignores_every_folder_the_readme_writes():
    folders = {_written_folder(shlex.split(command)) for command in readme_commands(TEXT)} - {None}
    folders |= {"datasets/emomv-c", "extractors/vggish"}  # the builds' and the weight conversion's outputs
    # analyze.py writes its report beside the database (responses.sqlite in the repository root).
    folders |= {
        "survey_report.md",
        "survey_results.json",
        "survey_agreement.png",
        "survey_ratings_emomv-c.png",
    }
    # Paths that do not exist: `git check-ignore --no-index` matches the patterns alone; a trailing / says which
    # are folders (manifest.json and responses.sqlite are files).
    paths = sorted(folder if Path(folder).suffix else f"{folder}/" for folder in folders)
    completed = subprocess.run(
        ["git", "check-ignore", "--no-index", "--verbose", "--non-matching", *paths],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
    )
    not_ignored = [line.split("\t")[-1] for line in completed.stdout.splitlines() if line.startswith("::")]
    assert folders and not not_ignored, f"not git-ignored: {not_ignored}"
