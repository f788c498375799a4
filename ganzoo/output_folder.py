"""An output folder left as it was found when the command writing into it fails, Ctrl-C included: the folders the
command created are removed, and a folder that was empty is emptied again."""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def left_as_found(folder: Path, keep: Callable[[], bool] = lambda: False) -> Iterator[None]:
    """Create ``folder`` (and missing parents) for the body to write into; if the body fails, undo that, unless
    ``keep()`` says what the folder holds by then is worth keeping. A folder that held files already is never
    touched (callers refuse one whose files they would overwrite)."""
    created = _first_missing(folder)
    was_empty = created is None and folder.is_dir() and not any(folder.iterdir())
    folder.mkdir(parents=True, exist_ok=True)
    try:
        yield
    except BaseException:
        if not keep():
            if created is not None:
                shutil.rmtree(created, ignore_errors=True)
            elif was_empty:
                for child in folder.iterdir():
                    if child.is_dir() and not child.is_symlink():
                        shutil.rmtree(child, ignore_errors=True)
                    else:
                        child.unlink(missing_ok=True)
        raise


def _first_missing(path: Path) -> Path | None:
    """The outermost folder of ``path`` that does not exist yet (None if ``path`` exists)."""
    missing = None
    for folder in (path, *path.parents):
        if folder.exists():
            return missing
        missing = folder
    return missing
