"""Where release candidates come from: a release folder, a folder of release folders, or an
http(s) URL serving a release archive (what `kb release publish` uploads: the folder as a
deterministic tar.gz).

A source only finds candidates; nothing it yields is trusted until `ReleaseHolder` verifies it.
Archives are unpacked with tarfile's "data" filter (no links outside, no devices, no absolute
paths) into a fresh folder named by the archive's sha256, bounded in size.
"""

from __future__ import annotations

import hashlib
import logging
import os
import shutil
import tarfile
import tempfile
from pathlib import Path
from typing import Protocol

from kb.errors import KbError
from kb.release.folder import ENVELOPE_FILE

log = logging.getLogger("kb.serve")


class SourceError(KbError):
    """A release source could not be read."""


class ReleaseSource(Protocol):
    def candidates(self) -> list[Path]: ...

    def describe(self) -> str: ...


class FolderSource:
    """A release folder, or a folder whose subfolders are releases (a watch folder)."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)

    def describe(self) -> str:
        return str(self.path)

    def candidates(self) -> list[Path]:
        if (self.path / ENVELOPE_FILE).is_file():
            return [self.path]
        try:
            entries = sorted(self.path.iterdir())
        except OSError as exc:
            raise SourceError(f"cannot list {self.path}: {exc.strerror}") from None
        # Names starting with a dot are half-written folders (ours and `kb release create`'s).
        return [
            entry
            for entry in entries
            if not entry.name.startswith(".") and (entry / ENVELOPE_FILE).is_file()
        ]


class UrlSource:
    """A release archive at an http(s) URL, fetched again only when it changed (ETag)."""

    def __init__(self, url: str, cache_dir: Path, *, max_bytes: int, timeout: float = 60) -> None:
        if not url.startswith(("https://", "http://")):
            raise SourceError(f"{url}: only http(s) URLs can be watched")
        self.url = url
        self.cache_dir = Path(cache_dir)
        self.max_bytes = max_bytes
        self.timeout = timeout
        self._etag: str | None = None
        self._last: Path | None = None

    def describe(self) -> str:
        return self.url.split("?", 1)[0]

    def candidates(self) -> list[Path]:
        import httpx

        headers = {"Accept": "application/gzip"}
        if self._etag:
            headers["If-None-Match"] = self._etag
        self.cache_dir.mkdir(parents=True, exist_ok=True)
        digest = hashlib.sha256()
        try:
            with (
                httpx.stream("GET", self.url, headers=headers, timeout=self.timeout) as response,
                tempfile.NamedTemporaryFile(dir=self.cache_dir, prefix=".download-") as spool,
            ):
                if response.status_code == 304 and self._last is not None:
                    return [self._last]
                if response.status_code != 200:
                    raise SourceError(f"{self.describe()} answered HTTP {response.status_code}")
                size = 0
                for chunk in response.iter_bytes():
                    size += len(chunk)
                    if size > self.max_bytes:
                        raise SourceError(f"{self.describe()}: archive over {self.max_bytes} bytes")
                    digest.update(chunk)
                    spool.write(chunk)
                spool.flush()
                etag = response.headers.get("ETag")
                folder = self._unpack(Path(spool.name), digest.hexdigest())
        except httpx.HTTPError as exc:
            raise SourceError(f"{self.describe()}: {type(exc).__name__}") from None
        self._etag, self._last = etag, folder
        return [folder]

    def _unpack(self, archive: Path, sha256: str) -> Path:
        target = self.cache_dir / sha256
        if not target.exists():
            work = Path(tempfile.mkdtemp(prefix=f".{sha256[:12]}-", dir=self.cache_dir))
            try:
                with tarfile.open(archive, mode="r:gz") as tar:
                    total = sum(member.size for member in tar.getmembers())
                    if total > self.max_bytes * 20:
                        raise SourceError(f"{self.describe()}: unpacks to over {total} bytes")
                    tar.extractall(work, filter="data")
            except (tarfile.TarError, OSError, EOFError) as exc:
                shutil.rmtree(work, ignore_errors=True)
                raise SourceError(f"{self.describe()}: not a release archive ({exc})") from None
            try:
                os.rename(work, target)
            except OSError:  # another worker unpacked the same archive first
                shutil.rmtree(work, ignore_errors=True)
        releases = [
            entry for entry in sorted(target.iterdir()) if (entry / ENVELOPE_FILE).is_file()
        ]
        if len(releases) != 1:
            raise SourceError(f"{self.describe()}: the archive holds no single release folder")
        return releases[0]


def source_for(location: str, cache_dir: Path, *, max_bytes: int) -> FolderSource | UrlSource:
    """A folder path or an http(s) URL as a release source."""
    if location.startswith(("https://", "http://")):
        return UrlSource(location, cache_dir, max_bytes=max_bytes)
    return FolderSource(Path(location))
