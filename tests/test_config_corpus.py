"""Every file in config_corpus/ holds one mistake and must fail with one clear line:
the file, the setting, the value and what was expected.

Each corpus file starts with two comments that say what its message must contain::

    # expect: domains[0].mail_from
    # value: bounce.example.org

A new file in the folder is picked up without touching this module. File names are
environment names, so they use lower-case letters, digits and hyphens only.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from mailcore.config import ConfigError, load_environment
from tests.conftest import REPO

CORPUS = Path(__file__).resolve().parent / "config_corpus"
CORPUS_FILES = sorted(CORPUS.glob("*.yaml"))


def _header(path: Path, key: str) -> str:
    """The text after ``# <key>:`` in the comments that open ``path``."""
    lines = path.read_bytes().decode("utf-8", errors="replace").splitlines()
    for line in lines[:2]:
        prefix = f"# {key}:"
        if line.startswith(prefix):
            return line[len(prefix) :].strip()
    raise AssertionError(f"{path.name} has no '# {key}:' comment on its first lines")


def test_the_corpus_covers_at_least_eighteen_mistakes() -> None:
    assert len(CORPUS_FILES) >= 18


@pytest.mark.parametrize("path", CORPUS_FILES, ids=lambda p: p.stem)
def test_a_bad_environment_fails_with_one_line_naming_the_setting(
    path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(REPO)
    setting = _header(path, "expect")
    value = _header(path, "value")

    with pytest.raises(ConfigError) as raised:
        load_environment(path.stem, CORPUS)

    message = str(raised.value)
    assert "\n" not in message
    assert message.startswith(f"tests/config_corpus/{path.name}: ")
    assert setting in message
    assert value in message
    assert "expected" in message
    # Raised "from None" or outside any handler: no chained traceback on show.
    assert raised.value.__cause__ is None
    assert raised.value.__suppress_context__ or raised.value.__context__ is None
    printed = capsys.readouterr()
    assert printed.out == ""
    assert printed.err == ""


def _run_app(env_name: str, outdir: Path) -> subprocess.CompletedProcess[str]:
    """app.py run as the CDK CLI runs it for ``-c env=<env_name>``."""
    env = {
        **os.environ,
        "CDK_CONTEXT_JSON": json.dumps({"env": env_name}),
        "CDK_OUTDIR": str(outdir),
    }
    return subprocess.run(
        [sys.executable, "app.py"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.mark.parametrize(
    ("env_name", "shown"),
    [("no-such-env", "no-such-env"), ("", "-c env='': expected")],
    ids=["unknown", "explicitly-empty"],
)
def test_a_bad_environment_name_stops_app_with_one_error_line(
    env_name: str, shown: str, tmp_path: Path
) -> None:
    outdir = tmp_path / "cdk.out"
    outdir.mkdir()

    result = _run_app(env_name, outdir)

    assert result.returncode == 1
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: ")
    assert shown in lines[0]
    assert "Traceback" not in result.stderr
    assert not (outdir / "manifest.json").exists()
    assert list(outdir.iterdir()) == []
