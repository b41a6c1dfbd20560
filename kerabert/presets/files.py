"""File helpers shared by every preset format."""

import json


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
