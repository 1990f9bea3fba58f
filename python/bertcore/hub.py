"""Hugging Face Hub model ids (``"sentence-transformers/all-MiniLM-L6-v2"``) resolved to a local directory.

A local directory always wins. Any other string that looks like a Hub id (``name`` or ``org/name``) goes
through ``huggingface_hub`` (the optional extra ``bertcore[hub]``): from its local cache when offline
(``HF_HUB_OFFLINE=1`` or ``local_files_only=True``), else downloaded into that cache. Only the files bertcore
reads are fetched, in the root folder and in sentence-transformers' module folders (``0_Transformer``,
``1_Pooling``, ``2_Dense``, ...): the configs, the tokenizer files, and each folder's safetensors weights, or
its ``pytorch_model.bin`` when it has no safetensors. ONNX, OpenVINO, TensorFlow and Flax files are skipped.

Every ``from_pretrained`` of bertcore calls :func:`resolve_model_dir`; other loaders (the tokenizer's) can
call it too.
"""

from __future__ import annotations

import fnmatch
import importlib
import os
import posixpath
import re
from typing import Any, Dict, Iterable, List, Optional, Sequence, Union

PathLike = Union[str, "os.PathLike[str]"]

# What bertcore reads from a model repository apart from the weights, by file name, in any folder.
MODEL_FILES = [
    "*config.json",  # config.json, sentence_bert_config.json, a module's config.json, ...
    "config_sentence_transformers.json",
    "modules.json",
    "tokenizer.json",
    "special_tokens_map.json",
    "added_tokens.json",
    "vocab.txt",
    "vocab.json",
    "merges.txt",
    "sentencepiece.bpe.model",
    "spiece.model",
]
SAFETENSORS_FILES = ["model.safetensors", "model.safetensors.index.json", "model-*-of-*.safetensors"]
TORCH_FILES = ["pytorch_model.bin", "pytorch_model.bin.index.json", "pytorch_model-*-of-*.bin"]
# Top-level folders of other runtimes' exports, never read.
SKIPPED_FOLDERS = ("onnx", "openvino", "coreml", "tflite")

# Files that only exist in a model snapshot, tried in turn to locate the snapshot folder in the cache.
_SNAPSHOT_MARKERS = ("config.json", "tokenizer.json", "tokenizer_config.json", "modules.json")

# A Hub repository id: "name" or "namespace/name" (the rules of huggingface_hub's validate_repo_id).
_REPO_ID = re.compile(r"^(?:[A-Za-z0-9_.-]+/)?[A-Za-z0-9_.-]{1,96}$")

_INSTALL_HINT = "pip install 'bertcore[hub]'"


def looks_like_repo_id(name: str) -> bool:
    """Whether ``name`` has the form of a Hub model id (``name`` or ``org/name``)."""
    if not _REPO_ID.match(name) or "--" in name or ".." in name:
        return False
    return not any(part.startswith((".", "-")) or part.endswith((".", "-")) for part in name.split("/"))


def hub_offline() -> bool:
    """Whether ``HF_HUB_OFFLINE`` forbids network access (read now, not when huggingface_hub was imported)."""
    value = os.environ.get("HF_HUB_OFFLINE")
    if value is None:
        try:
            from huggingface_hub import constants
        except ImportError:
            return False
        return bool(getattr(constants, "HF_HUB_OFFLINE", False))
    return value.strip().upper() in ("1", "ON", "YES", "TRUE")


def resolve_model_dir(
    name_or_path: PathLike,
    *,
    local_files_only: bool = False,
    revision: Optional[str] = None,
    cache_dir: Optional[PathLike] = None,
) -> str:
    """The local directory of a model: ``name_or_path`` itself when it is a directory, else its Hub snapshot.

    Args:
        name_or_path: a model directory, or a Hub id such as ``"sentence-transformers/all-MiniLM-L6-v2"``.
        local_files_only: only look in the local Hub cache (as ``HF_HUB_OFFLINE=1`` does).
        revision: a branch, tag or commit hash of the Hub repository (default: ``main``).
        cache_dir: the Hub cache folder (default: huggingface_hub's, ``HF_HUB_CACHE``).

    Returns:
        A directory holding config.json, the weights and the tokenizer files that the repository has.

    Raises:
        FileNotFoundError: not a directory, and not a Hub id; huggingface_hub is not installed; the model is
            not in the cache while offline; or the Hub has no such repository or revision.
        OSError: the Hub could not be reached, or refused access (gated or private repository).

    Example:
        >>> resolve_model_dir("sentence-transformers/all-MiniLM-L6-v2", local_files_only=True)
        '/root/.cache/huggingface/hub/models--sentence-transformers--all-MiniLM-L6-v2/snapshots/c9745ed...'
    """
    path = os.fspath(name_or_path)
    if os.path.isdir(path):
        return path
    if os.path.exists(path):
        raise FileNotFoundError(f"model directory {path!r} is a file, not a directory")
    if not isinstance(path, str) or not looks_like_repo_id(path):
        raise FileNotFoundError(
            f"model directory {path!r} does not exist or is not a directory (nor is it a Hugging Face Hub "
            "model id such as 'org/name')"
        )
    try:
        import huggingface_hub
    except ImportError:
        raise FileNotFoundError(
            f"model directory {path!r} does not exist; to load {path!r} from the Hugging Face Hub, install "
            f"huggingface_hub ({_INSTALL_HINT}), or pass the path of a local model directory"
        ) from None
    cache = os.fspath(cache_dir) if cache_dir is not None else None
    if local_files_only or hub_offline():
        return _from_cache(huggingface_hub, path, revision, cache, local_files_only)
    return _download(huggingface_hub, path, revision, cache)


def _where(repo_id: str, revision: Optional[str], cache_dir: Optional[str]) -> str:
    at = f" at revision {revision!r}" if revision else ""
    return f"{repo_id!r}{at} (Hugging Face cache: {cache_dir or 'the default, HF_HUB_CACHE'})"


def _cached_snapshot(
    hub: Any, repo_id: str, revision: Optional[str], cache_dir: Optional[str]
) -> Optional[str]:
    """The snapshot folder of the revision in the local cache, or None (never touches the network)."""
    for marker in _SNAPSHOT_MARKERS:
        found = hub.try_to_load_from_cache(repo_id, marker, cache_dir=cache_dir, revision=revision)
        if isinstance(found, str):
            return os.path.dirname(found)
    return None


def _from_cache(
    hub: Any, repo_id: str, revision: Optional[str], cache_dir: Optional[str], forced: bool
) -> str:
    """The cached snapshot folder, found with no network access at all."""
    found = _cached_snapshot(hub, repo_id, revision, cache_dir)
    if found is not None:
        return found
    why = "local_files_only=True" if forced else "HF_HUB_OFFLINE is set"
    how = "pass local_files_only=False" if forced else "unset HF_HUB_OFFLINE"
    raise FileNotFoundError(
        f"model directory {repo_id!r} does not exist, and {_where(repo_id, revision, cache_dir)} is not in "
        f"the local Hugging Face cache; {why}, so it cannot be downloaded ({how} to download it, or pass "
        "the path of a local model directory)"
    )


def _matches(name: str, patterns: Sequence[str]) -> bool:
    return any(fnmatch.fnmatchcase(name, p) for p in patterns)


def files_to_download(repo_files: Iterable[str]) -> List[str]:
    """The files of a repository that bertcore reads (see the module's docstring), from its file list."""
    folders: Dict[str, List[str]] = {}
    for path in repo_files:
        if path.split("/", 1)[0] not in SKIPPED_FOLDERS:
            folders.setdefault(posixpath.dirname(path), []).append(path)
    wanted: List[str] = []
    for paths in folders.values():
        names = [posixpath.basename(p) for p in paths]
        has_safetensors = any(_matches(n, SAFETENSORS_FILES) for n in names)
        patterns = MODEL_FILES + (SAFETENSORS_FILES if has_safetensors else TORCH_FILES)
        wanted += [p for p, n in zip(paths, names) if _matches(n, patterns)]
    return sorted(wanted)


def _download(hub: Any, repo_id: str, revision: Optional[str], cache_dir: Optional[str]) -> str:
    """Downloads (or finds up to date in the cache) the files bertcore reads; returns the snapshot folder."""
    try:
        errors: Any = importlib.import_module("huggingface_hub.errors")
    except ImportError:  # huggingface_hub < 0.24 kept its errors in utils
        errors = importlib.import_module("huggingface_hub.utils")
    where = _where(repo_id, revision, cache_dir)
    try:
        repo_files = sorted(hub.list_repo_files(repo_id, revision=revision))
        wanted = files_to_download(repo_files)
        if wanted:
            folder = hub.snapshot_download(
                repo_id, revision=revision, cache_dir=cache_dir, allow_patterns=wanted
            )
            return str(folder)
    except (errors.RepositoryNotFoundError, errors.RevisionNotFoundError) as e:
        if isinstance(e, errors.GatedRepoError):
            raise OSError(
                f"{where} is a gated repository: accept its conditions on huggingface.co and log in "
                f"(hf auth login) to download it. ({type(e).__name__}: {e})"
            ) from e
        raise FileNotFoundError(
            f"model directory {repo_id!r} does not exist, and the Hugging Face Hub has no {where} (a "
            f"private repository needs a login: hf auth login). ({type(e).__name__}: {e})"
        ) from e
    except Exception as e:  # the Hub is unreachable or failing: use the cache when it has the model
        cached = _cached_snapshot(hub, repo_id, revision, cache_dir)
        if cached is not None:
            return cached
        raise OSError(
            f"could not download {where} from the Hugging Face Hub, and it is not in the local cache: "
            f"{type(e).__name__}: {e}"
        ) from e
    raise FileNotFoundError(
        f"{where} has no files that bertcore reads (config.json, tokenizer, safetensors or PyTorch weights); "
        f"it holds: {', '.join(repo_files[:20]) or 'nothing'}"
    )
