"""The layers' boundaries, enforced by import-linter with the contracts in pyproject.toml:
`bus → adapters → projections → domain`, never upwards (deferred imports inside functions
included); nothing the service runs imports the tests; no import cycle between the modules
of a package."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LINT_IMPORTS = Path(sys.executable).parent / "lint-imports"


def lint_imports(*arguments: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(LINT_IMPORTS), "--no-cache", *arguments], cwd=ROOT,
                          capture_output=True, text=True, timeout=120)


def test_every_boundary_contract_is_kept():
    result = lint_imports()
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


def test_a_boundary_crossed_is_caught(tmp_path):
    # The same code against the layers turned upside down: the checker must see it.
    upside_down = tmp_path / "upside-down.toml"
    upside_down.write_text(
        '[tool.importlinter]\nroot_packages = ["domain", "projections", "adapters", "bus"]\n\n'
        '[[tool.importlinter.contracts]]\nname = "upside down"\ntype = "layers"\n'
        'layers = ["domain", "projections", "adapters", "bus"]\n')
    result = lint_imports("--config", str(upside_down))
    assert result.returncode == 1, result.stdout + result.stderr
    assert "BROKEN" in result.stdout
