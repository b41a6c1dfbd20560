"""Presets on the Hugging Face Hub: downloading `hf://owner/repo[@revision]`
handles and built-in names into `huggingface_hub`'s cache, and `push_to_hub`
(see `resolve.py` for how a preset argument finds its way here).

Only the files kerabert reads are downloaded: their names come from the
format modules (`KerabertPreset`, `HuggingFaceCheckpoint`, `TFCheckpoint`) and
the families' registry entries. With `HF_HUB_OFFLINE=1`, or when the Hub
cannot be reached, the cache is used; if the files are not there the call
fails at once, naming the missing files. Requests to the Hub time out after
`KERABERT_HUB_TIMEOUT` seconds (default 10); `HF_ENDPOINT` is read at call time.

Only `HfApi.model_info`, `snapshot_download`, `create_repo` and `upload_folder`
are used, which behave the same in huggingface_hub 0.34+ and 1.x.
"""

import json
import logging
import os
import re
import tempfile

from kerabert.presets import registry
from kerabert.presets.formats import huggingface_checkpoint
from kerabert.presets.formats import tf_checkpoint

logger = logging.getLogger(__name__)

HF_SCHEME = "hf://"
DEFAULT_TIMEOUT = 10.0
_REPO_ID = re.compile(r"^(?:[A-Za-z0-9][\w.-]*/)?[A-Za-z0-9][\w.-]*$")
_TOKEN_LIKE = re.compile(r"hf_[A-Za-z0-9]{8,}")



def _kerabert_files():
    """(every file pattern of a kerabert preset, the files that mark one)."""
    from kerabert.presets.formats import kerabert_preset

    return kerabert_preset.HUB_FILES, kerabert_preset.MARKER_FILES


def _hf_files():
    """The config and vocabulary files of a Hugging Face folder, every family's."""
    return (*huggingface_checkpoint.HUB_CONFIG_FILES,
            *(name for f in registry.families() for name in f.tokenizer_files))


def vocabulary_files(family=None):
    """The vocabulary file a Hugging Face folder of `family` has ("vocab.txt"),
    or, with no family, every family's choice ("vocab.txt or spiece.model")."""
    if family is not None:
        return " or ".join(registry.family(family).tokenizer_files)
    names = [name for f in registry.families() for name in f.tokenizer_files]
    return " or ".join(names) or "its vocabulary file"


def _tf_checkpoint_files():
    return (*registry.tf_config_files(), *tf_checkpoint.HUB_CHECKPOINT_FILES)

PIPELINE_TAGS = {
    None: "feature-extraction",
    "classifier": "text-classification",
    "question_answerer": "question-answering",
    "pretrainer": "fill-mask",
}


class HubError(OSError):
    """A Hub download or upload failed; the message says why and what to do.

    `status_code` is the HTTP status when the Hub answered (401, 403, 404, ...),
    else None (no network, offline mode, files missing from the cache).
    """

    def __init__(self, message, status_code=None):
        super().__init__(message)
        self.status_code = status_code


# --- environment -------------------------------------------------------------

def _timeout():
    value = os.environ.get("KERABERT_HUB_TIMEOUT")
    try:
        return float(value) if value else DEFAULT_TIMEOUT
    except ValueError:
        raise ValueError(
            f"KERABERT_HUB_TIMEOUT must be a number of seconds, got {value!r}.") from None


def _endpoint():
    value = os.environ.get("HF_ENDPOINT", "").strip().rstrip("/")
    return value or None


def _endpoint_for_messages():
    if _endpoint():
        return _endpoint()
    from huggingface_hub import constants

    return constants.ENDPOINT


def _is_true(value):
    return str(value or "").upper() in ("1", "ON", "YES", "TRUE")


def is_offline():
    """True when `HF_HUB_OFFLINE` (or `TRANSFORMERS_OFFLINE`) is set, read now."""
    from huggingface_hub import constants

    return bool(constants.HF_HUB_OFFLINE or _is_true(os.environ.get("HF_HUB_OFFLINE"))
                or _is_true(os.environ.get("TRANSFORMERS_OFFLINE")))


def _cache_dir():
    from huggingface_hub import constants

    return os.environ.get("HF_HUB_CACHE") or constants.HF_HUB_CACHE


def _connection_errors():
    """Transport failures of huggingface_hub's HTTP client (requests or httpx)."""
    from huggingface_hub.errors import OfflineModeIsEnabled

    types = [OfflineModeIsEnabled, ConnectionError, TimeoutError]
    try:
        import requests

        types += [requests.exceptions.ConnectionError, requests.exceptions.Timeout]
    except ImportError:
        pass
    try:
        import httpx

        types += [httpx.TransportError]
    except ImportError:
        pass
    return tuple(types)


def scrub(text, token=None):
    """Removes `token` (and anything shaped like an HF token) from `text`."""
    text = str(text)
    if isinstance(token, str) and token:
        text = text.replace(token, "***")
    return _TOKEN_LIKE.sub("hf_***", text)


def _short(error, token=None):
    """A one-line reason for a transport error ("[Errno 111] Connection refused")."""
    text = scrub(str(error), token)
    match = re.search(r"\[Errno -?\d+\][^'\")\]]*", text)
    if match:
        return match.group(0).strip()
    if "timed out" in text.lower() or "timeout" in type(error).__name__.lower():
        return f"no answer within {_timeout():g} s"
    lines = text.strip().splitlines()
    return (lines[0] if lines else type(error).__name__)[:200]


# --- resolving ---------------------------------------------------------------

def parse_hf_handle(handle):
    """"hf://owner/repo@revision" -> ("owner/repo", "revision" or None)."""
    rest = handle[len(HF_SCHEME):]
    repo_id, at, revision = rest.partition("@")
    repo_id = repo_id.strip("/")
    if not _REPO_ID.match(repo_id) or (at and not revision):
        raise ValueError(
            f"Malformed Hub handle {handle!r}: expected hf://owner/repo or "
            "hf://owner/repo@revision (a branch, tag or commit).")
    return repo_id, revision or None


def download_handle(handle):
    """The local folder of an `hf://owner/repo[@revision]` handle."""
    repo_id, revision = parse_hf_handle(handle)
    return download(repo_id, revision, label=handle)


def select_files(repo_files):
    """The patterns of the repository files kerabert needs, given its file list."""
    kerabert_files, markers = _kerabert_files()
    weight_groups = huggingface_checkpoint.HUB_WEIGHT_GROUPS
    names = set(repo_files)
    if not names:  # the Hub did not list the files: take every format kerabert reads
        return (list(kerabert_files) + list(_hf_files()) + [p for g in weight_groups for p in g]
                + list(_tf_checkpoint_files()))
    if set(markers) & names:
        return list(kerabert_files)
    patterns = list(_hf_files())
    for group in weight_groups:
        if group[0] in names:
            return patterns + list(group)
    if any(name.endswith(".index") for name in names):
        return patterns + list(_tf_checkpoint_files())
    return patterns


def missing_files(folder, family=None, tokenizer=True):
    """What a complete kerabert or Hugging Face folder would have and `folder` lacks
    (`family` "bert" or "xlnet" names the tokenizer file). With `tokenizer=False`
    a Hugging Face folder needs only its config and weights (enough for a
    backbone; the loader names a missing vocabulary when one is asked for)."""
    def has(*names):
        return folder is not None and any(os.path.isfile(os.path.join(folder, n)) for n in names)

    from kerabert.presets.formats import kerabert_preset as preset

    if has(*preset.MARKER_FILES):
        missing = [n for n in (preset.CONFIG_FILE, preset.BACKBONE_WEIGHTS_FILE) if not has(n)]
        try:
            with open(os.path.join(folder, preset.METADATA_FILE), encoding="utf-8") as f:
                classes = json.load(f).get("classes", {})
        except (OSError, ValueError):
            classes = {}
        if "tokenizer" in classes:
            missing += [n for n in (preset.TOKENIZER_CONFIG_FILE, preset.TOKENIZER_ASSET_DIR)
                        if not (has(n) or os.path.isdir(os.path.join(folder, n)))]
        if "task" in classes:
            missing += [n for n in (preset.TASK_CONFIG_FILE, preset.TASK_WEIGHTS_FILE)
                        if not has(n)]
        return missing
    config = huggingface_checkpoint.CONFIG_FILE
    missing = [] if has(config, *registry.tf_config_files()) else [config]
    has_checkpoint = folder is not None and os.path.isdir(folder) and any(
        name.endswith(".index") for name in os.listdir(folder))
    if not (has(*(group[0] for group in huggingface_checkpoint.HUB_WEIGHT_GROUPS))
            or has_checkpoint):
        first, *others = (group[0] for group in huggingface_checkpoint.HUB_WEIGHT_GROUPS)
        missing.append(f"{first} (or {', '.join(others)})")
    vocabularies = [name for f in registry.families() for name in f.tokenizer_files]
    if tokenizer and not has(*vocabularies):
        wanted = registry.family(family).tokenizer_files if family else vocabularies
        missing.append(wanted[0] + (f" (or {', '.join(wanted[1:])})" if len(wanted) > 1 else ""))
    return missing


def _not_available(repo_id, revision, label, reason, folder, family=None):
    missing = missing_files(folder, family)
    where = "is incomplete in" if folder else "is not in"
    rev = f" --revision {revision}" if revision and revision != "main" else ""
    return HubError(
        f"Cannot load {label}: {reason}, and the model {where} the local Hugging Face "
        f"cache ({_cache_dir()}). Missing: {', '.join(missing)}. Pass a local folder "
        f"path instead (a folder with config.json, model.safetensors and "
        f"{vocabulary_files(family)}, or "
        "one written by save_to_preset), or download it where the Hub is reachable "
        f"(`hf download {repo_id}{rev}`); HF_HUB_OFFLINE=1 then uses "
        "the cached copy.")


def _from_cache(repo_id, revision, label, reason, family=None):
    import huggingface_hub as hf
    from huggingface_hub.errors import LocalEntryNotFoundError

    folder = None
    try:
        folder = hf.snapshot_download(repo_id, revision=revision, local_files_only=True,
                                      cache_dir=_cache_dir())
    except (LocalEntryNotFoundError, FileNotFoundError) as error:
        # huggingface_hub 1.x raises IncompleteSnapshotError when files of the repo
        # are not cached, including ones kerabert never downloads; judge it below.
        folder = getattr(error, "snapshot_path", None)
    if folder and not missing_files(folder, family, tokenizer=False):
        logger.info("Using the cached copy of %s (%s).", label, reason)
        return folder
    raise _not_available(repo_id, revision, label, reason, folder, family)


def _download_error(error, repo_id, revision, label):
    from huggingface_hub import errors

    status = getattr(getattr(error, "response", None), "status_code", None)
    if isinstance(error, errors.RevisionNotFoundError):
        return HubError(f"Cannot load {label}: {repo_id} has no revision {revision!r} "
                        "(a branch, tag or commit hash).", status)
    if isinstance(error, errors.GatedRepoError):
        return HubError(
            f"Cannot load {label}: {repo_id} is gated. Accept its conditions on "
            f"https://huggingface.co/{repo_id} and log in (`hf auth login`, or set "
            "HF_TOKEN).", status)
    if isinstance(error, errors.RepositoryNotFoundError) or status in (401, 404):
        return HubError(
            f"Cannot load {label}: the repository {repo_id} was not found on the Hub "
            f"({_endpoint_for_messages()}), or it is private and no valid token is "
            "available. Check the name, or log in (`hf auth login`, or set "
            "HF_TOKEN).", status)
    if status == 403:
        return HubError(f"Cannot load {label}: access to {repo_id} was refused (HTTP 403); "
                        "your token lacks read access to it.", status)
    server = scrub(getattr(error, "server_message", None) or error)
    return HubError(f"Cannot load {label}: the Hub answered HTTP {status}: {server}", status)


def download(repo_id, revision=None, label=None, family=None):
    """Downloads the files kerabert reads from a Hub model repo; returns the folder.

    `family` ("bert", "xlnet"), when known, names the tokenizer file in errors."""
    import huggingface_hub as hf
    from huggingface_hub.errors import HfHubHTTPError
    from huggingface_hub.errors import LocalEntryNotFoundError

    label = label or f"{HF_SCHEME}{repo_id}"
    revision = revision or "main"
    if is_offline():
        return _from_cache(repo_id, revision, label, "HF_HUB_OFFLINE is set", family)
    endpoint, timeout, unreachable = _endpoint(), _timeout(), _connection_errors()
    try:
        info = hf.HfApi(endpoint=endpoint).model_info(repo_id, revision=revision, timeout=timeout)
    except unreachable as error:
        return _from_cache(repo_id, revision, label,
                           f"the Hub at {_endpoint_for_messages()} could not be reached "
                           f"({_short(error)})", family)
    except HfHubHTTPError as error:
        raise _download_error(error, repo_id, revision, label) from None
    repo_files = [s.rfilename for s in (info.siblings or [])]
    patterns = select_files(repo_files)
    try:
        folder = hf.snapshot_download(repo_id, revision=revision, allow_patterns=patterns,
                                      etag_timeout=timeout, endpoint=endpoint,
                                      cache_dir=_cache_dir())
    except LocalEntryNotFoundError as error:
        raise _not_available(repo_id, revision, label,
                             f"the download failed ({_short(error.__cause__ or error)})",
                             None, family) from None
    except unreachable as error:
        raise HubError(f"Cannot load {label}: the download from {_endpoint_for_messages()} "
                       f"failed ({_short(error)}).") from None
    except HfHubHTTPError as error:
        raise _download_error(error, repo_id, revision, label) from None
    configs = (huggingface_checkpoint.CONFIG_FILE, *_kerabert_files()[1],
               *registry.tf_config_files())
    if not any(os.path.isfile(os.path.join(folder, name)) for name in configs):
        raise FileNotFoundError(
            f"{label}: the repository {repo_id} has no checkpoint kerabert reads (none of "
            f"{', '.join(configs)}); its files: {sorted(repo_files)[:20]}.")
    return folder


# --- publishing --------------------------------------------------------------

def _base_model_id(base_model):
    if not base_model:
        return None
    entry = registry.get(base_model)
    if entry is not None:
        return entry.hf_repo
    if base_model.startswith(HF_SCHEME):
        return parse_hf_handle(base_model)[0]
    return base_model


def model_card(obj, repo_id, metrics=None, base_model=None):
    """The README.md text (metadata header + usage) for a pushed preset, written
    with `huggingface_hub.ModelCard`, so the Hub reads its metadata as it
    writes it."""
    import keras
    from huggingface_hub import ModelCard
    from huggingface_hub import ModelCardData

    from kerabert.version import __version__

    task_kind = getattr(obj, "task_kind", None)
    pipeline_tag = PIPELINE_TAGS.get(task_kind, "feature-extraction")
    family = registry.family_of(obj)
    base = _base_model_id(base_model)
    tags = ["kerabert", "keras", *([family.name] if family else []), pipeline_tag]
    data = ModelCardData(library_name="kerabert", tags=tags,
                         pipeline_tag=pipeline_tag, base_model=base,
                         metrics=[str(name) for name in metrics] if metrics else None)
    class_name = type(obj).__name__
    lines = [
        "---", data.to_yaml(), "---", "",
        f"# {repo_id.split('/')[-1]}", "",
        f"A kerabert `{class_name}` ({int(obj.count_params()):,} parameters)"
        + (f", fine-tuned from [{base}](https://huggingface.co/{base})." if base else "."),
        "", "## Usage", "", "```python", "import kerabert", "",
        f'model = kerabert.{class_name}.from_preset("hf://{repo_id}")', "```", "",
    ]
    label_names = getattr(obj, "label_names", None)
    if label_names:
        lines += ["## Labels", "", "| class id | label |", "|---|---|"]
        escaped = [name.replace("|", "\\|") for name in label_names]  # a bare "|" would end the cell
        lines += [f"| {i} | {name} |" for i, name in enumerate(escaped)]
        lines += ["", "`model.predict_labels(texts)` returns these names.", ""]
    if metrics:
        lines += ["## Metrics", "", "| metric | value |", "|---|---|"]
        lines += [f"| {name} | {value} |" for name, value in metrics.items()]
        lines.append("")
    lines += ["## Files", "",
              "A kerabert preset (`config.json`, `model.weights.h5`, `metadata.json`, and for "
              "tasks `tokenizer.json`, `assets/tokenizer/`, `preprocessor.json`, `task.json`, "
              f"`task.weights.h5`), saved with kerabert {__version__} and Keras "
              f"{keras.__version__}.", ""]
    return str(ModelCard("\n".join(lines)))


def _upload_error(error, repo_id, token):
    status = getattr(getattr(error, "response", None), "status_code", None)
    namespace = repo_id.split("/")[0] if "/" in repo_id else "your account"
    if status == 401:
        import huggingface_hub as hf

        who = ("no token was passed and none is saved" if token is None and not hf.get_token()
               else "the token was rejected (invalid or expired)")
        return HubError(
            f"Cannot push to {repo_id}: authentication failed (HTTP 401): {who}. Pass a "
            "write token with token=..., set HF_TOKEN, or run `hf auth login`; "
            "tokens are made at https://huggingface.co/settings/tokens.", status)
    if status == 403:
        return HubError(
            f"Cannot push to {repo_id}: permission denied (HTTP 403). The token may not "
            f"write to {namespace!r}: use a token with write access (a fine-grained token "
            "needs write permission on this repo or organisation), or push to your own "
            "namespace.", status)
    if status == 404:
        return HubError(
            f"Cannot push to {repo_id}: not found (HTTP 404). The namespace {namespace!r} "
            "does not exist or the token cannot see it.", status)
    server = scrub(getattr(error, "server_message", None) or error, token)
    return HubError(f"Cannot push to {repo_id}: the Hub answered HTTP {status}: {server}",
                    status)


def push_to_hub(obj, repo_id, private=False, token=None, commit_message=None, metrics=None,
                base_model=None, extra_objects=(), model_card_text=True):
    """Saves `obj` as a preset and uploads it to the model repo `repo_id`.

    Creates the repo if needed (`create_repo(exist_ok=True)`) and uploads the
    preset folder plus a generated README.md model card in one commit
    (`upload_folder`). `extra_objects` are saved into the same preset (e.g. a
    backbone's tokenizer). Returns huggingface_hub's `CommitInfo`.

    Errors (bad token, no write access, no network) raise `HubError` with a
    message that never contains the token.
    """
    import huggingface_hub as hf
    from huggingface_hub.errors import HfHubHTTPError

    if not isinstance(repo_id, str) or not _REPO_ID.match(repo_id) or "/" not in repo_id:
        raise ValueError(f"repo_id must look like 'owner/name', got {repo_id!r}.")
    if is_offline():
        raise HubError(f"Cannot push to {repo_id}: HF_HUB_OFFLINE is set, and uploading "
                       "needs the network. Unset it, or use save_to_preset(folder).")
    message = commit_message or f"Upload kerabert {type(obj).__name__} preset"
    api = hf.HfApi(endpoint=_endpoint())
    unreachable = _connection_errors()
    with tempfile.TemporaryDirectory(prefix="kerabert-push-") as tmp:
        folder = os.path.join(tmp, "preset")
        obj.save_to_preset(folder)
        for extra in extra_objects:
            if extra is not None:
                extra.save_to_preset(folder)
        if model_card_text:
            text = (model_card_text if isinstance(model_card_text, str)
                    else model_card(obj, repo_id, metrics, base_model))
            with open(os.path.join(folder, "README.md"), "w", encoding="utf-8") as f:
                f.write(text)
        try:
            api.create_repo(repo_id, private=private, exist_ok=True, token=token)
            return api.upload_folder(repo_id=repo_id, folder_path=folder,
                                     commit_message=message, token=token)
        except HfHubHTTPError as error:
            raise _upload_error(error, repo_id, token) from None
        except unreachable as error:
            raise HubError(f"Cannot push to {repo_id}: the Hub at {_endpoint_for_messages()} "
                           f"could not be reached ({_short(error, token)}). Check the network, "
                           "proxy settings and HF_ENDPOINT.") from None
        except ValueError as error:  # e.g. the Hub rejected the model card metadata
            raise HubError(f"Cannot push to {repo_id}: {scrub(error, token)}") from None
