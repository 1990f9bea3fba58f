"""Reading the JSON files of a model directory, with errors that name the file."""

from __future__ import annotations

import json
import os
from typing import Any, Dict, Union

PathLike = Union[str, "os.PathLike[str]"]


def read_json(path: PathLike, what: str) -> Any:
    """The parsed content of ``path``.

    Raises:
        FileNotFoundError: the file is missing.
        ValueError: it is unreadable, not valid JSON or nested too deeply; the message names ``what`` and the
            file.
    """
    try:
        with open(path, encoding="utf-8") as f:
            return json.load(f)
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise ValueError(f"{what} {os.fspath(path)} is not valid JSON: {e}") from e
    except RecursionError as e:  # arrays or objects nested thousands deep
        raise ValueError(f"{what} {os.fspath(path)} nests JSON too deeply to be read: {e}") from e
    except IsADirectoryError as e:
        raise ValueError(f"{what} {os.fspath(path)} is a directory, not a JSON file") from e


def read_json_object(path: PathLike, what: str, *, missing_ok: bool = False) -> Dict[str, Any]:
    """A JSON object (dict) from ``path``; ``{}`` when the file is absent and ``missing_ok``.

    Raises:
        FileNotFoundError: the file is missing and not ``missing_ok``.
        ValueError: not valid JSON, or valid JSON that is not an object.
    """
    if missing_ok and not os.path.isfile(path):
        return {}
    data = read_json(path, what)
    if not isinstance(data, dict):
        raise ValueError(f"{what} {os.fspath(path)} must hold a JSON object, found {type(data).__name__}")
    return data
