"""The SMTP password derivation, loaded from the Lambda handler's own file.

The folder ``lambda/`` cannot be imported by name (``lambda`` is a Python
keyword), so the file is loaded by path. The handler and this package therefore
run the same code, and a fix to one is a fix to both.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

__all__ = ["DERIVATION_FILE", "is_secret_access_key", "smtp_password"]

DERIVATION_FILE = (
    Path(__file__).resolve().parent.parent
    / "lambda"
    / "smtp_credentials"
    / "smtp_password.py"
)


def _load() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "mailctl._smtp_password", DERIVATION_FILE
    )
    if spec is None or spec.loader is None:
        raise ImportError(
            f"cannot load the SMTP password derivation from {DERIVATION_FILE}"
        )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


_module = _load()
smtp_password = _module.smtp_password
is_secret_access_key = _module.is_secret_access_key
