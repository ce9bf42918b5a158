"""Reading and writing the user's files: TOML input, output paths checked before work starts, and
atomic writes (a temporary name beside the target, renamed into place only when complete)."""

from __future__ import annotations

import os
import tomllib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


def read_toml(path: str | os.PathLike[str], kind: str) -> dict:
    """Parse a TOML file; a missing, unreadable or malformed file is a one-line ValueError naming ``kind``."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ValueError(f"{kind} file {str(path)!r} cannot be read: {exc.strerror}") from None
    except UnicodeDecodeError:
        raise ValueError(f"{kind} file {str(path)!r} is not UTF-8 text") from None
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ValueError(f"{kind} file {str(path)!r} is not valid TOML: {exc}") from None


def check_writable(path: str | os.PathLike[str], label: str, example: str) -> Path:
    """The output ``path`` must be a file name in an existing, writable directory (checked before any work).

    ``label`` names the option or field in the message; ``example`` is a file name to suggest.
    """
    target = Path(path)
    parent = target.parent if str(target.parent) else Path(".")
    if not parent.is_dir():
        raise ValueError(f"{label} {str(path)!r}: directory {str(parent)!r} does not exist")
    if not os.access(parent, os.W_OK):
        raise ValueError(f"{label} {str(path)!r}: directory {str(parent)!r} is not writable")
    if target.is_dir():
        raise ValueError(f"{label} {str(path)!r} is a directory; give a file name such as {example}")
    return target


@contextmanager
def atomic_write(path: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; rename it to ``path`` if the block succeeds, else delete it."""
    target = Path(path)
    tmp = target.with_name(f".{target.stem}.tmp-{os.getpid()}{target.suffix}")
    try:
        yield tmp
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)
