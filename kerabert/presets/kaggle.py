"""Presets on Kaggle Models, where keras-hub publishes its presets:
`kaggle://owner/model/framework/variation[/version]`, e.g.
`kaggle://keras/bert/keras/bert_base_en_uncased/3`.

The folder is downloaded with `kagglehub` (installed with keras-hub) into its
cache (`KAGGLEHUB_CACHE`, default `~/.cache/kagglehub`), where keras-hub
finds it too. A versioned handle already in the cache is used without
contacting Kaggle. When Kaggle cannot be reached, an unversioned handle falls
back to the newest cached version; with nothing cached the error names the
files that are missing and where they were looked for.
"""

import logging
import os
import re

from kerabert.presets.formats import kerabert_preset
from kerabert.presets.formats import keras_hub_checkpoint
from kerabert.presets.hub import HubError

logger = logging.getLogger(__name__)

SCHEME = "kaggle://"
_PART = re.compile(r"^[A-Za-z0-9][\w.-]*$")
# What a keras-hub preset folder needs to be loaded; the tokenizer's files
# only when a tokenizer is asked for (the loader names them then).
REQUIRED_FILES = (keras_hub_checkpoint.CONFIG_FILE, kerabert_preset.BACKBONE_WEIGHTS_FILE)


def parse_handle(handle):
    """"kaggle://o/m/f/v[/n]" -> (owner, model, framework, variation, version or None)."""
    parts = handle[len(SCHEME):].strip("/").split("/")
    version = None
    if len(parts) == 5:
        *parts, number = parts
        version = int(number) if number.isdigit() else -1
    if len(parts) != 4 or not all(_PART.match(p) for p in parts) or version == -1:
        raise ValueError(
            f"Malformed Kaggle handle {handle!r}: expected "
            "kaggle://owner/model/framework/variation or .../variation/version, e.g. "
            "kaggle://keras/bert/keras/bert_base_en_uncased/3.")
    return (*parts, version)


def cache_folder():
    """kagglehub's cache folder, read now (`KAGGLEHUB_CACHE`)."""
    from kagglehub import config

    return config.get_cache_folder()


def _variation_folder(owner, model, framework, variation):
    return os.path.join(cache_folder(), "models", owner, model, framework, variation)


def missing_files(folder):
    if folder is None or not os.path.isdir(folder):
        return list(REQUIRED_FILES)
    return [name for name in REQUIRED_FILES if not os.path.isfile(os.path.join(folder, name))]


def _newest_cached(owner, model, framework, variation):
    """The newest complete cached version's folder, or None."""
    parent = _variation_folder(owner, model, framework, variation)
    versions = sorted((int(v) for v in os.listdir(parent) if v.isdigit()), reverse=True) \
        if os.path.isdir(parent) else []
    for version in versions:
        folder = os.path.join(parent, str(version))
        if not missing_files(folder):
            return folder
    return None


def _transport_errors():
    types = [ConnectionError, TimeoutError]
    try:
        import requests

        types += [requests.exceptions.ConnectionError, requests.exceptions.Timeout]
    except ImportError:
        pass
    return tuple(types)


def _not_available(handle, reason, folder):
    missing = missing_files(folder)
    where = folder or os.path.join(_variation_folder(*parse_handle(handle)[:4]), "<version>")
    return HubError(
        f"Cannot load {handle}: {reason}, and it is not in kagglehub's cache ({where}). "
        f"Missing: {', '.join(missing)}. Download it where Kaggle is reachable (the same "
        "call, or kagglehub.model_download) and point KAGGLEHUB_CACHE at that cache, or "
        "pass the preset's local folder instead.")


def _http_error(error, handle):
    status = getattr(getattr(error, "response", None), "status_code", None)
    if status == 404:
        return HubError(f"Cannot load {handle}: Kaggle has no such model, variation or version "
                        "(HTTP 404). Check the handle on https://www.kaggle.com/models.", status)
    if status in (401, 403):
        return HubError(
            f"Cannot load {handle}: Kaggle refused access (HTTP {status}). Accept the model's "
            "terms on its Kaggle page and log in (kagglehub.login(), or set KAGGLE_USERNAME and "
            "KAGGLE_KEY).", status)
    return HubError(f"Cannot load {handle}: Kaggle answered HTTP {status}: {error}", status)


def download(handle):
    """Returns the local folder of the Kaggle preset `handle` (see the module
    docstring)."""
    import kagglehub
    import requests

    owner, model, framework, variation, version = parse_handle(handle)
    slug = "/".join([owner, model, framework, variation] + ([str(version)] if version else []))
    try:
        folder = kagglehub.model_download(slug)
    except _transport_errors() as error:
        reason = f"Kaggle could not be reached ({type(error).__name__})"
        cached = None
        if version is None:
            cached = _newest_cached(owner, model, framework, variation)
        else:
            candidate = os.path.join(_variation_folder(owner, model, framework, variation),
                                     str(version))
            cached = candidate if os.path.isdir(candidate) else None
        if cached and not missing_files(cached):
            logger.info("Using the cached copy of %s (%s).", handle, reason)
            return cached
        raise _not_available(handle, reason, cached) from None
    except requests.HTTPError as error:
        raise _http_error(error, handle) from None
    missing = missing_files(folder)
    if missing:
        raise FileNotFoundError(f"{handle} was downloaded to {folder}, which lacks {missing}: "
                                "it is not a keras-hub preset.")
    return folder
