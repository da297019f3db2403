"""Downloading vocabulary releases: atomic, size-capped, with timeouts and clear errors."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from pathlib import Path

import requests
from sqlalchemy.orm import Session

from kb import __version__
from kb.errors import VocabularyError
from kb.vocab.hgnc import HGNC_URL, load_hgnc
from kb.vocab.oncotree import ONCOTREE_URL, load_oncotree, oncotree_version_from_name
from kb.vocab.releases import LoadResult, sha256_file

MAX_DOWNLOAD_BYTES = 200 * 1024 * 1024

TIMEOUT = (10, 60)

ProgressCallback = Callable[[int, int | None], None]


def download(
    url: str,
    target: Path,
    *,
    params: dict[str, str] | None = None,
    progress: ProgressCallback | None = None,
    session: requests.Session | None = None,
) -> Path:
    """Download `url` to `target` atomically: a failed download leaves no file behind."""
    http = session or requests.Session()
    http.headers.setdefault("User-Agent", f"kb-curator/{__version__}")
    target.parent.mkdir(parents=True, exist_ok=True)
    handle, partial = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent)
    try:
        with os.fdopen(handle, "wb") as out:
            try:
                response = http.get(url, params=params, stream=True, timeout=TIMEOUT)
            except requests.Timeout:
                raise VocabularyError(f"{url}: no answer within {TIMEOUT[1]} s") from None
            except requests.ConnectionError as exc:
                raise VocabularyError(f"{url}: cannot connect ({_reason(exc)})") from None
            with response:
                if response.status_code != 200:
                    raise VocabularyError(
                        f"{response.url}: the server answered HTTP {response.status_code} "
                        f"{response.reason}"
                    )
                total_header = response.headers.get("Content-Length")
                total = int(total_header) if total_header and total_header.isdigit() else None
                done = 0
                try:
                    for chunk in response.iter_content(1 << 16):
                        done += len(chunk)
                        if done > MAX_DOWNLOAD_BYTES:
                            raise VocabularyError(
                                f"{url}: larger than {MAX_DOWNLOAD_BYTES // (1 << 20)} MiB; refused"
                            )
                        out.write(chunk)
                        if progress:
                            progress(done, total)
                except requests.RequestException as exc:
                    raise VocabularyError(f"{url}: download broke off ({_reason(exc)})") from None
                if total is not None and done != total:
                    raise VocabularyError(f"{url}: got {done} of {total} bytes")
        os.replace(partial, target)
    finally:
        if os.path.exists(partial):
            os.unlink(partial)
    return target


def _reason(exc: Exception) -> str:
    text = str(exc)
    return text if len(text) < 200 else text[:200] + "…"


def fetch_oncotree(
    session: Session,
    cache_dir: Path,
    *,
    version: str | None = None,
    url: str | None = None,
    progress: ProgressCallback | None = None,
) -> LoadResult:
    """Download an OncoTree release (the newest stable one unless `version`) and load it."""
    base = url or ONCOTREE_URL
    params = {"version": version or "oncotree_latest_stable"}
    target = cache_dir / f"{version or 'oncotree_latest_stable'}.json"
    download(base, target, params=params, progress=progress)
    resolved = version
    if resolved is None:
        resolved = oncotree_version_from_name(target)
    return load_oncotree(
        session,
        target,
        version=resolved or _stable_version(target),
        source=f"{base}?version={params['version']}",
    )


def _stable_version(path: Path) -> str:
    # The API does not say which dated release "latest stable" is; name it by content.
    return f"oncotree_latest_stable-{sha256_file(path)[:12]}"


def fetch_hgnc(
    session: Session,
    cache_dir: Path,
    *,
    version: str | None = None,
    url: str | None = None,
    progress: ProgressCallback | None = None,
) -> LoadResult:
    """Download the HGNC complete set (or `url`) and load it."""
    source = url or HGNC_URL
    target = cache_dir / "hgnc_complete_set.txt"
    download(source, target, progress=progress)
    return load_hgnc(session, target, version=version, source=source)
