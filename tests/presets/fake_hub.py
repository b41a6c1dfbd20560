"""A loopback stand-in for the Hugging Face Hub, for tests of the real
`huggingface_hub` client.

It implements only the endpoints that `create_repo`, `upload_folder` (files sent
inline as "regular" blobs), `model_info` and `snapshot_download` /
`hf_hub_download` call (read from huggingface_hub 0.36's and 1.33's hf_api.py,
_commit_api.py, _snapshot_download.py and file_download.py):

  POST /api/repos/create                          create_repo
  POST /api/validate-yaml                         README.md metadata check
  POST /api/models/{repo}/preupload/{revision}    upload modes
  POST /api/models/{repo}/commit/{revision}       ndjson commit
  GET  /api/models/{repo}[/revision/{revision}]   model_info / repo_info
  GET  /api/models/{repo}/tree/{revision}         list_repo_tree (used by hub 1.x)
  HEAD/GET /{repo}/resolve/{revision}/{path}      file metadata and bytes

It binds 127.0.0.1 only, serves a bounded number of requests (503 afterwards),
and the fixture stops it.
"""

import base64
import hashlib
import json
import os
import re
import socket
import threading
from http.server import BaseHTTPRequestHandler
from http.server import ThreadingHTTPServer
from urllib.parse import unquote
from urllib.parse import urlsplit

WRITE_TOKEN = "hf_WriteTokenForTests0123456789abcdef"
READ_TOKEN = "hf_ReadOnlyTokenForTests0123456789ab"
BAD_TOKEN = "hf_RevokedTokenForTests0123456789abcd"

_REPO = r"(?P<repo>[^/]+/[^/]+)"


class Repo:
    def __init__(self, private=False):
        self.private = private
        self.files = {}
        self.commits = []  # (sha, commit message, {path: bytes})

    @property
    def sha(self):
        return self.commits[-1][0] if self.commits else "0" * 40

    def commit(self, files, message="initial"):
        self.files.update(files)
        digest = hashlib.sha1(repr((len(self.commits), message, sorted(self.files))).encode()
                              + b"".join(self.files[k] for k in sorted(self.files)))
        self.commits.append((digest.hexdigest(), message, dict(files)))


class FakeHub:
    def __init__(self, max_requests=400):
        self.repos = {}
        self.requests = []  # (method, path, authorization header or None)
        self.max_requests = max_requests
        self.tokens = {WRITE_TOKEN: "write", READ_TOKEN: "read"}
        self._lock = threading.Lock()
        hub = self

        class Handler(BaseHTTPRequestHandler):
            timeout = 10  # a stuck client cannot hold a server thread for long

            def log_message(self, *args):
                pass

            def do_GET(self):
                hub._handle(self, "GET")

            def do_HEAD(self):
                hub._handle(self, "HEAD")

            def do_POST(self):
                hub._handle(self, "POST")

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.05,),
                                       daemon=True)

    def start(self):
        self.thread.start()
        return self

    def stop(self):
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=10)

    def add_repo(self, repo_id, files, private=False):
        """Puts a repo with `{path: bytes}` on the hub directly (no upload)."""
        repo = self.repos.setdefault(repo_id, Repo(private))
        repo.commit(files)
        return repo

    def paths_requested(self, method, repo_id):
        prefix = f"/{repo_id}/resolve/"
        return sorted({unquote(p.split(prefix, 1)[1].split("/", 1)[1])
                       for m, p, _ in self.requests if m == method and p.startswith(prefix)})

    # --- request handling ---------------------------------------------------

    def _handle(self, handler, method):
        path = urlsplit(handler.path).path
        with self._lock:
            self.requests.append((method, path, handler.headers.get("Authorization")))
            over = len(self.requests) > self.max_requests
        length = int(handler.headers.get("Content-Length") or 0)
        body = handler.rfile.read(length) if length else b""
        if over:
            return self._json(handler, 503, {"error": "fake hub request limit reached"})
        try:
            self._route(handler, method, path, body)
        except Exception as error:  # report, do not hang the client
            self._json(handler, 500, {"error": f"fake hub: {type(error).__name__}: {error}"})

    def _auth(self, handler):
        header = handler.headers.get("Authorization") or ""
        token = header[len("Bearer "):] if header.startswith("Bearer ") else None
        return self.tokens.get(token), token is not None

    def _require_write(self, handler):
        level, sent = self._auth(handler)
        if level is None:
            message = ("Invalid credentials in Authorization header" if sent
                       else "You must be authenticated to access this resource.")
            self._json(handler, 401, {"error": message}, {"X-Error-Message": message})
            return False
        if level != "write":
            self._json(handler, 403, {
                "error": "You don't have the rights to create a model under this namespace"})
            return False
        return True

    def _repo(self, handler, repo_id):
        repo = self.repos.get(repo_id)
        if repo is None or (repo.private and self._auth(handler)[0] is None):
            self._json(handler, 404, {"error": "Repository not found"},
                       {"X-Error-Code": "RepoNotFound"})
            return None
        return repo

    def _revision(self, handler, repo, revision):
        revision = unquote(revision)
        if revision in ("main", repo.sha):
            return True
        self._json(handler, 404, {"error": f"Invalid rev id: {revision}"},
                   {"X-Error-Code": "RevisionNotFound"})
        return False

    def _route(self, handler, method, path, body):
        if method == "POST" and path == "/api/repos/create":
            if not self._require_write(handler):
                return
            data = json.loads(body)
            repo_id = f"{data['organization']}/{data['name']}"
            if repo_id in self.repos:
                return self._json(handler, 409, {"error": "You already created this model repo",
                                                 "url": f"{self.url}/{repo_id}"})
            self.repos[repo_id] = Repo(private=bool(data.get("private")))
            return self._json(handler, 200, {"url": f"{self.url}/{repo_id}", "name": repo_id})
        if method == "POST" and path == "/api/validate-yaml":
            return self._json(handler, 200, {"errors": [], "warnings": []})
        match = re.fullmatch(rf"/api/models/{_REPO}/(?P<op>preupload|commit)/(?P<rev>[^/]+)", path)
        if method == "POST" and match:
            if not self._require_write(handler):
                return
            repo = self._repo(handler, match["repo"])
            if repo is None or not self._revision(handler, repo, match["rev"]):
                return
            if match["op"] == "preupload":
                files = json.loads(body)["files"]
                return self._json(handler, 200, {"files": [
                    {"path": f["path"], "uploadMode": "regular", "shouldIgnore": False}
                    for f in files]})
            lines = [json.loads(line) for line in body.splitlines() if line.strip()]
            header = next(item["value"] for item in lines if item["key"] == "header")
            files = {}
            for item in lines:
                if item["key"] == "header":
                    continue
                if item["key"] != "file":
                    raise ValueError(f"unsupported commit operation {item['key']!r}")
                files[item["value"]["path"]] = base64.b64decode(item["value"]["content"])
            repo.commit(files, header["summary"])
            # huggingface_hub's CommitInfo parses this URL against its import-time
            # ENDPOINT (the real Hub answers with its own address), so answer as it.
            from huggingface_hub import constants

            return self._json(handler, 200, {
                "commitUrl": f"{constants.ENDPOINT}/{match['repo']}/commit/{repo.sha}",
                "commitOid": repo.sha, "success": True})
        match = re.fullmatch(rf"/api/models/{_REPO}/tree/(?P<rev>[^/]+)", path)
        if method == "GET" and match:  # list_repo_tree (huggingface_hub 1.x snapshot_download)
            repo = self._repo(handler, match["repo"])
            if repo is None or not self._revision(handler, repo, match["rev"]):
                return
            return self._json(handler, 200, [
                {"type": "file", "path": p, "size": len(data), "oid": hashlib.sha1(data).hexdigest()}
                for p, data in sorted(repo.files.items())])
        match = re.fullmatch(rf"/api/models/{_REPO}(?:/revision/(?P<rev>[^/]+))?", path)
        if method == "GET" and match:
            repo = self._repo(handler, match["repo"])
            if repo is None or not self._revision(handler, repo, match["rev"] or "main"):
                return
            return self._json(handler, 200, {
                "id": match["repo"], "modelId": match["repo"], "sha": repo.sha,
                "private": repo.private,
                "siblings": [{"rfilename": p} for p in sorted(repo.files)]})
        match = re.fullmatch(rf"/{_REPO}/resolve/(?P<rev>[^/]+)/(?P<file>.+)", path)
        if method in ("GET", "HEAD") and match:
            repo = self._repo(handler, match["repo"])
            if repo is None or not self._revision(handler, repo, match["rev"]):
                return
            name = unquote(match["file"])
            if name not in repo.files:
                return self._json(handler, 404, {"error": "Entry not found"},
                                  {"X-Error-Code": "EntryNotFound"})
            data = repo.files[name]
            handler.send_response(200)
            handler.send_header("Content-Type", "application/octet-stream")
            handler.send_header("Content-Length", str(len(data)))
            handler.send_header("ETag", f'"{hashlib.sha1(data).hexdigest()}"')
            handler.send_header("X-Repo-Commit", repo.sha)
            handler.end_headers()
            if method == "GET":
                handler.wfile.write(data)
            return
        self._json(handler, 404, {"error": f"fake hub has no route {method} {path}"})

    def _json(self, handler, status, data, headers=None):
        payload = json.dumps(data).encode()
        handler.send_response(status)
        handler.send_header("Content-Type", "application/json")
        handler.send_header("Content-Length", str(len(payload)))
        for key, value in (headers or {}).items():
            handler.send_header(key, value)
        handler.end_headers()
        if handler.command != "HEAD":
            handler.wfile.write(payload)


def folder_files(folder, **extra):
    """`{relative path: bytes}` of a folder's files, plus `extra` ones."""
    files = {}
    for root, _, names in os.walk(folder):
        for name in names:
            path = os.path.join(root, name)
            with open(path, "rb") as f:
                files[os.path.relpath(path, folder).replace(os.sep, "/")] = f.read()
    return {**files, **extra}


def closed_port_url():
    """A loopback URL where nothing listens (connection refused at once)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}"


class Blackhole:
    """A loopback port that accepts connections (kernel backlog) but never answers."""

    def __init__(self):
        self.socket = socket.socket()
        self.socket.bind(("127.0.0.1", 0))
        self.socket.listen(16)
        self.url = f"http://127.0.0.1:{self.socket.getsockname()[1]}"

    def close(self):
        self.socket.close()


def hub_env(monkeypatch, tmp_path, endpoint):
    """Points kerabert's Hub calls at `endpoint` (HF_ENDPOINT, read at call time)
    with a fresh cache and no saved token; any request elsewhere goes to a dead
    proxy, so nothing can reach the real Hub."""
    from huggingface_hub import constants

    cache = str(tmp_path / "hf_cache")
    monkeypatch.setenv("HF_ENDPOINT", endpoint)
    monkeypatch.setenv("HF_HUB_CACHE", cache)
    monkeypatch.setattr(constants, "HF_HUB_CACHE", cache)
    # Anything not sent to the loopback endpoint goes to a dead proxy and fails.
    dead = closed_port_url()
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy", "ALL_PROXY"):
        monkeypatch.setenv(name, dead)
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    monkeypatch.setenv("no_proxy", "127.0.0.1,localhost")
    monkeypatch.setenv("HF_TOKEN_PATH", str(tmp_path / "no_token"))
    monkeypatch.setattr(constants, "HF_TOKEN_PATH", str(tmp_path / "no_token"))
    monkeypatch.setattr(constants, "HF_STORED_TOKENS_PATH", str(tmp_path / "no_tokens"))
    monkeypatch.delenv("HF_TOKEN", raising=False)
    monkeypatch.delenv("HUGGING_FACE_HUB_TOKEN", raising=False)
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.delenv("TRANSFORMERS_OFFLINE", raising=False)
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)
    monkeypatch.setenv("HF_HUB_DISABLE_TELEMETRY", "1")
    monkeypatch.setenv("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    return cache
