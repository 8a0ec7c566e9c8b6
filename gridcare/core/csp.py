"""Content-Security-Policy on every response: scripts only from this site's own files, nothing inline.

Escaping in templates and scripts is the first line against script injection (stored XSS in an address, a
name, a notice text); this header is the second: if some text ever slips through as markup, the browser still
refuses to run an inline script, an `onerror=` handler, a `javascript:` URL or a script from elsewhere.

Django 5.2 has no CSP middleware of its own (6.0 adds one); this one is a few lines, so GridCare writes the
header itself rather than take a dependency (django-csp) for it. Styles allow 'unsafe-inline': Plotly and
Swagger UI insert <style> elements and Leaflet positions its panes with style attributes; CSS cannot run
script, and no user text reaches markup unescaped, so this opens no path to code execution.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from urllib.parse import urlsplit

from django.core.exceptions import ImproperlyConfigured
from django.http import HttpRequest, HttpResponse

HEADER = "Content-Security-Policy"
_SOURCE = re.compile(r"https?://(\*\.)?[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*(:[0-9]{1,5})?")


def tile_source(template: str) -> str:
    """The CSP source that allows the map tiles of a Leaflet URL template (GRIDCARE_MAP_TILES).

    `https://{s}.tile.example.org/{z}/{x}/{y}.png` → `https://*.tile.example.org`; a host label holding a
    placeholder (`webrd0{s}.is.autonavi.com`) becomes a wildcard, the only form CSP accepts."""
    parts = urlsplit(template)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ImproperlyConfigured(
            f"GRIDCARE_MAP_TILES={template!r} is not an http(s) URL template, "
            "e.g. https://{s}.tile.openstreetmap.org/{z}/{x}/{y}.png"
        )
    host, _, port = parts.netloc.rpartition(":") if parts.netloc.count(":") == 1 else (parts.netloc, "", "")
    labels = host.split(".")
    templated = [i for i, label in enumerate(labels) if "{" in label or "}" in label]
    if templated:
        rest = labels[templated[-1] + 1 :]
        if len(rest) < 2:  # `{s}.org` would allow a whole top-level domain
            raise ImproperlyConfigured(f"GRIDCARE_MAP_TILES={template!r}: the host is too broad for a placeholder")
        host = "*." + ".".join(rest)
    source = f"{parts.scheme}://{host}" + (f":{port}" if port else "")
    # A host is letters, digits, dots and dashes: anything else (a `;`, a space) would add directives.
    if not _SOURCE.fullmatch(source):
        raise ImproperlyConfigured(f"GRIDCARE_MAP_TILES={template!r}: the host {host!r} is not a plain host name")
    return source


def build_policy(*, map_tiles: str = "") -> str:
    """The one policy every response carries."""
    images = ["'self'", "data:"]  # data: for Leaflet's and Swagger UI's small inline icons
    if map_tiles:
        images.append(tile_source(map_tiles))
    directives = {
        "default-src": ["'self'"],
        "script-src": ["'self'"],  # never 'unsafe-inline' or 'unsafe-eval'
        "style-src": ["'self'", "'unsafe-inline'"],
        "img-src": images,
        "font-src": ["'self'", "data:"],
        "connect-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "frame-ancestors": ["'none'"],
        "form-action": ["'self'"],
    }
    return "; ".join(f"{name} {' '.join(values)}" for name, values in directives.items())


class ContentSecurityPolicyMiddleware:
    """Sets the policy on every response: pages, API, admin, API docs, static files, error pages.

    First in MIDDLEWARE, so responses made by the other middleware (redirects, static files) carry it too."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        from django.conf import settings

        self.get_response = get_response
        self.policy: str = settings.GRIDCARE_CSP

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        response[HEADER] = self.policy  # replaces, never loosens: no view may relax it
        return response
