"""Integrity of a saved model directory: a manifest of sha256 hashes, written at save, checked at serve start.

A model directory is data, never code: JSON files plus one tensor file loaded with
`torch.load(weights_only=True)`. The manifest adds tamper and truncation detection: a file whose
bytes changed since `QEDM.save` wrote it is refused before anything is parsed.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from qedm.atomic import atomic_write_text
from qedm.errors import QEDMError

MANIFEST_FILE = "manifest.json"
MANIFEST_FORMAT = "qedm.manifest/1"


class IntegrityError(QEDMError):
    """A model file is missing, truncated or changed since it was saved (names the file)."""


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def write_manifest(model_dir: str | Path, names: tuple[str, ...] | list[str]) -> Path:
    """Hash each named file of `model_dir` into manifest.json (sizes too, so truncation reads plainly)."""
    model_dir = Path(model_dir)
    files = {name: {"sha256": file_sha256(model_dir / name), "bytes": (model_dir / name).stat().st_size}
             for name in names}
    return atomic_write_text(model_dir / MANIFEST_FILE,
                             json.dumps({"format": MANIFEST_FORMAT, "files": files}, indent=2, sort_keys=True))


def verify_manifest(model_dir: str | Path, required: tuple[str, ...] | list[str] = ()) -> None:
    """Raise IntegrityError unless every file the manifest lists (and each `required` one is listed)
    is present with its recorded size and hash."""
    model_dir = Path(model_dir)
    path = model_dir / MANIFEST_FILE
    if not path.is_file():
        raise IntegrityError(
            f"{model_dir} has no {MANIFEST_FILE}: it was saved by an older qedm or copied without it; "
            "re-save it with this qedm (QEDM.load(path).save(path)) after checking its files yourself")
    try:
        manifest = json.loads(path.read_text())
        files = manifest["files"]
        assert manifest.get("format") == MANIFEST_FORMAT and isinstance(files, dict)
    except (ValueError, KeyError, TypeError, AssertionError):
        raise IntegrityError(f"{path} is not a qedm manifest ({MANIFEST_FORMAT})") from None
    unlisted = [name for name in required if name not in files]
    if unlisted:
        raise IntegrityError(f"{path} does not cover {', '.join(unlisted)}; refusing to load {model_dir}")
    for name, entry in sorted(files.items()):
        file = model_dir / name
        if Path(name).name != name:
            raise IntegrityError(f"{path} lists {name!r}, which is not a file of the model directory")
        if not file.is_file():
            raise IntegrityError(f"{file} is missing (listed in {MANIFEST_FILE})")
        size = file.stat().st_size
        if size != entry.get("bytes"):
            raise IntegrityError(f"{file} is truncated or changed: {size} bytes, the manifest records "
                                 f"{entry.get('bytes')}; refusing to load it")
        if file_sha256(file) != entry.get("sha256"):
            raise IntegrityError(f"{file} was changed after it was saved (sha256 differs from {MANIFEST_FILE}); "
                                 "refusing to load it")
