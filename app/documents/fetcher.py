"""The only URL fetcher WeasyPrint gets: `data:` URLs and files under our own static folder, nothing else.

WeasyPrint's default fetcher follows file:// and http(s):// URLs, so a document whose text smuggled in
<img src="file:///etc/passwd"> or a link to an internal server would read or fetch it. Templates refer to
static files with url_for('static', ...) (a path such as /static/css/x.css); rendering uses STATIC_ORIGIN
as the base URL, and this fetcher maps exactly that origin + the static path to files on disk."""
from __future__ import annotations

import logging
import mimetypes
from pathlib import Path
from urllib.parse import unquote, urlsplit

from weasyprint.urls import URLFetcher, URLFetcherResponse

log = logging.getLogger("app.documents")

# A name under the reserved .invalid TLD (RFC 2606): even if a URL escaped, it could never resolve.
STATIC_ORIGIN = "https://documents.jiefen.invalid"


class RefusedURL(ValueError):
    """A document asked for something outside data: URLs and our static files."""


class SafeURLFetcher(URLFetcher):
    """Serves data: URLs and files under static_root (reached via STATIC_ORIGIN + static_url_path)."""

    def __init__(self, static_root: Path, static_url_path: str = "/static"):
        super().__init__(allowed_protocols={"data"}, allow_redirects=False, fail_on_errors=False)
        self.static_root = Path(static_root).resolve()
        self.static_prefix = static_url_path.rstrip("/") + "/"
        self.refused: list[str] = []

    def fetch(self, url: str, headers=None) -> URLFetcherResponse:
        """Return the resource, or raise RefusedURL (logged; WeasyPrint then leaves it out)."""
        if url.lower().startswith("data:"):
            return super().fetch(url, headers)
        path = self.static_path(url)
        if path is None:
            self.refused.append(url)
            log.warning("document rendering: refused to fetch %.200s", url)
            raise RefusedURL(f"documents may only use data: URLs and static files, not {url[:200]}")
        content_type = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        return URLFetcherResponse(url, path.read_bytes(), {"Content-Type": content_type})

    def static_path(self, url: str) -> Path | None:
        """The file under static_root that url names, or None when it names anything else."""
        parts = urlsplit(url)
        if f"{parts.scheme}://{parts.netloc}".lower() != STATIC_ORIGIN or parts.query:
            return None
        path = unquote(parts.path)
        if not path.startswith(self.static_prefix) or "\x00" in path:
            return None
        candidate = (self.static_root / path[len(self.static_prefix):]).resolve()
        if not candidate.is_relative_to(self.static_root) or not candidate.is_file():
            return None
        return candidate
