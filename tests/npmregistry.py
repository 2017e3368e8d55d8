"""A local stand-in for the npm registry (a test double: tests never reach the real one).

It serves the packages under tests/fixtures/npm-registry/ (one directory NAME-VERSION each) the
way the registry does for npm: a packument per name at /NAME (every version with its
dependencies, bin and dist.tarball/shasum/integrity) and the tarballs at
/NAME/-/NAME-VERSION.tgz (the package under `package/`, as `npm pack` writes it). Requests are
recorded, so a test can tell whether npm asked at all.
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import io
import json
import tarfile
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path


def pack(directory: Path) -> bytes:
    """The package directory as an npm tarball (entries under package/, fixed times)."""
    buffer = io.BytesIO()
    with gzip.GzipFile(filename="", mode="wb", fileobj=buffer, mtime=0) as gz:
        with tarfile.open(fileobj=gz, mode="w") as tar:
            for path in sorted(p for p in directory.rglob("*") if p.is_file()):
                info = tar.gettarinfo(str(path), arcname=f"package/{path.relative_to(directory)}")
                info.mtime, info.uid, info.gid, info.uname, info.gname = 0, 0, 0, "", ""
                with path.open("rb") as handle:
                    tar.addfile(info, handle)
    return buffer.getvalue()


class NpmRegistry:
    def __init__(self, packages_dir: Path):
        self.tarballs: dict[str, bytes] = {}
        self.manifests: dict[str, dict[str, dict]] = {}
        for directory in sorted(p for p in packages_dir.iterdir() if p.is_dir()):
            manifest = json.loads((directory / "package.json").read_text())
            name, version = manifest["name"], manifest["version"]
            self.tarballs[f"{name}-{version}.tgz"] = pack(directory)
            self.manifests.setdefault(name, {})[version] = manifest
        self.requests: list[str] = []
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> NpmRegistry:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join()

    def packument(self, name: str) -> dict:
        versions = {}
        for version, manifest in self.manifests[name].items():
            data = self.tarballs[f"{name}-{version}.tgz"]
            integrity = "sha512-" + base64.b64encode(hashlib.sha512(data).digest()).decode()
            versions[version] = dict(manifest, _id=f"{name}@{version}", dist={
                "tarball": f"{self.url}{name}/-/{name}-{version}.tgz",
                "shasum": hashlib.sha1(data).hexdigest(), "integrity": integrity})
        latest = max(versions, key=lambda v: tuple(int(part) for part in v.split(".")))
        return {"name": name, "dist-tags": {"latest": latest}, "versions": versions}

    def _handler(self):
        registry = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802 (http.server's name)
                registry.requests.append(self.path)
                path = self.path.split("?", 1)[0].lstrip("/")
                if "/-/" in path and path.rsplit("/", 1)[-1] in registry.tarballs:
                    self._send(registry.tarballs[path.rsplit("/", 1)[-1]], "application/octet-stream")
                elif path in registry.manifests:
                    self._send(json.dumps(registry.packument(path)).encode(), "application/json")
                else:
                    self._send(b'{"error":"Not found"}', "application/json", 404)

            def _send(self, body: bytes, content_type: str, status: int = 200) -> None:
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args) -> None:
                pass

        return Handler
