"""File helpers shared by every preset format: JSON, and folders written all
at once."""

import json
import os
import shutil
import tempfile


def read_json(path):
    """Parses a JSON file; a damaged one raises a `ValueError` that names the
    file and where the error is (line, column)."""
    try:
        with open(path, encoding="utf-8") as f:
            return json.load(f)
    except json.JSONDecodeError as error:
        raise ValueError(
            f"{path} is not valid JSON: {error.msg} at line {error.lineno}, column "
            f"{error.colno}. Fix the file, or save or download it again.") from None
    except UnicodeDecodeError as error:
        raise ValueError(f"{path} is not a UTF-8 text file ({error.reason}): it is damaged or "
                         "not a JSON file. Save or download it again.") from None


def write_json(path, data, sort_keys=True):
    """Writes `data` as indented UTF-8 JSON with a final newline."""
    with open(path, "w", encoding="utf-8") as f:
        json.dump(data, f, indent=2, sort_keys=sort_keys, ensure_ascii=False)
        f.write("\n")


class AtomicFolder:
    """Writes a folder in a temporary sibling and swaps it in at the end.

    `with AtomicFolder(path) as tmp:` yields the temporary folder to write into.
    When the block ends normally the temporary folder replaces `path` with
    renames (on a POSIX filesystem a reader sees the old folder or the new one,
    never a mix); when it raises, `path` is left as it was and nothing is left
    behind.

    Args:
      folder: the target.
      carry_over: copy the target's current files into the temporary folder
        first (adding to an existing folder), except those `drop(name)` is
        true for.
      drop: `name -> bool`, files of the old folder not to carry over.
    """

    def __init__(self, folder, carry_over=True, drop=None):
        self.folder = os.path.abspath(os.fspath(folder))
        self.carry_over = carry_over
        self.drop = drop

    def __enter__(self):
        parent = os.path.dirname(self.folder)
        os.makedirs(parent, exist_ok=True)
        if os.path.exists(self.folder) and not os.path.isdir(self.folder):
            raise FileExistsError(f"{self.folder} exists and is not a folder.")
        self.tmp = tempfile.mkdtemp(prefix="." + os.path.basename(self.folder) + ".", dir=parent)
        if self.carry_over and os.path.isdir(self.folder):
            shutil.copytree(self.folder, self.tmp, dirs_exist_ok=True)
            for name in os.listdir(self.tmp):
                if self.drop is not None and self.drop(name):
                    path = os.path.join(self.tmp, name)
                    shutil.rmtree(path) if os.path.isdir(path) else os.remove(path)
        return self.tmp

    def __exit__(self, exc_type, exc, tb):
        if exc_type is not None:
            shutil.rmtree(self.tmp, ignore_errors=True)
            return False
        old = None
        if os.path.isdir(self.folder):
            old = self.tmp + ".old"
            os.rename(self.folder, old)
        os.rename(self.tmp, self.folder)
        if old:
            shutil.rmtree(old, ignore_errors=True)
        return False
