"""Every response carries the Content-Security-Policy (no inline script, no eval) and the other browser headers:
every page and fragment of every app, the API and its docs, the admin, the public notice pages, static files,
redirects and error pages, signed in and not."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver
from django.urls.resolvers import RoutePattern

from gridcare.core.csp import build_policy, tile_source
from tests.conftest import City, login

CONVERTER = re.compile(r"<(?:(\w+):)?(\w+)>")


def routes(patterns: list[Any] | None = None, prefix: str = "") -> Iterator[str]:
    """Every path route of the project (the API's and the admin's included), parameters filled in."""
    for p in get_resolver().url_patterns if patterns is None else patterns:
        if not isinstance(p.pattern, RoutePattern):
            continue  # the admin's few regex routes: covered by the explicit admin paths below
        route = prefix + str(p.pattern)
        if isinstance(p, URLResolver):
            yield from routes(p.url_patterns, route)
        elif isinstance(p, URLPattern):
            yield "/" + CONVERTER.sub(lambda m: "1" if m.group(1) in ("int", "path") else "x1", route)


def assert_protected(response: Any, path: str) -> None:
    policy = response.get("Content-Security-Policy")
    assert policy, f"{path} ({response.status_code}) has no Content-Security-Policy"
    directives = {d.split()[0]: d.split()[1:] for d in policy.split(";") if d.strip()}
    script = directives.get("script-src", directives.get("default-src"))
    assert script == ["'self'"], f"{path}: script-src {script}"
    assert directives["object-src"] == ["'none'"] and directives["base-uri"] == ["'self'"]
    assert directives["frame-ancestors"] == ["'none'"]
    assert response.get("X-Content-Type-Options") == "nosniff", path
    if not path.startswith("/static/"):  # files are not framed documents; frame-ancestors covers them anyway
        assert response.get("X-Frame-Options") == "DENY", path
    assert response.get("Referrer-Policy") == "same-origin", path


EXTRA = [
    "/static/gridcare/app.js",
    "/static/leaflet/leaflet.js",
    "/no-such-page/",
    "/admin/",
    "/admin/login/",
    "/admin/org/user/",
    "/admin/org/user/add/",
    "/admin/workorders/workorder/",
    "/api/v1/docs",
    "/api/v1/openapi.json",
    "/notices/public/",
    "/notices/public/outages.json",
]


def test_policy_allows_scripts_from_this_site_only() -> None:
    policy = build_policy()
    assert "script-src 'self';" in policy and "unsafe-inline' ; " not in policy
    assert "unsafe-eval" not in policy
    assert settings.MIDDLEWARE[0] == "gridcare.core.csp.ContentSecurityPolicyMiddleware"


@pytest.mark.parametrize("who", ["anonymous", "admin", "agent", "dispatcher_north", "crew_member", "analyst"])
def test_every_route_answers_with_the_policy(city: City, who: str) -> None:
    client = Client(raise_request_exception=False)
    if who != "anonymous":
        login(client, getattr(city, who))
    paths = sorted(set(routes()) | set(EXTRA))
    assert len(paths) > 60 and "/api/v1/docs" in paths and "/dsm/plans/" in paths
    for path in paths:
        assert_protected(client.get(path), path)
    # and on the answers that are not GETs: a refused POST, an API error
    assert_protected(client.post("/workorders/new/", {}), "POST /workorders/new/")
    assert_protected(client.post("/api/v1/workorders", "{", content_type="application/json"), "POST /api/v1")


def test_real_objects_pages_carry_the_policy(city: City, client: Client) -> None:
    login(client, city.admin)
    account = city.north_customer.account_no
    for path in (f"/customers/{account}/", f"/workorders/panel/{account}/", f"/tags/customers/{account}/"):
        response = client.get(path)
        assert response.status_code == 200, path
        assert_protected(response, path)


def test_map_tiles_host_is_allowed_for_images_only() -> None:
    policy = build_policy(map_tiles="https://{s}.tile.openstreetmap.org/{z}/{x}/{y}.png")
    assert "img-src 'self' data: https://*.tile.openstreetmap.org;" in policy
    assert "script-src 'self';" in policy
    assert tile_source("https://webrd0{s}.is.autonavi.com/appmaptile?x={x}") == "https://*.is.autonavi.com"
    assert tile_source("http://127.0.0.1:8081/{z}/{x}/{y}.png") == "http://127.0.0.1:8081"
    for bad in ("javascript:alert(1)", "tiles/{z}/{x}/{y}.png", "https://{s}.org/{z}.png", "https://x.cn;script-src *"):
        with pytest.raises(ImproperlyConfigured, match="GRIDCARE_MAP_TILES"):
            tile_source(bad)


GRIDCARE = Path(__file__).resolve().parents[2] / "gridcare"
INLINE_HANDLER = re.compile(r"<[^>]*\son[a-z]+\s*=", re.IGNORECASE)
INLINE_SCRIPT = re.compile(r"<script(?![^>]*\b(src|type=\"application/json\")\b)[^>]*>", re.IGNORECASE)
UNSAFE_TEMPLATE = re.compile(r"\|\s*safe\b|autoescape\s+off|\bsafeseq\b")


def test_templates_have_no_inline_script_handlers_or_unescaped_output() -> None:
    """The policy would block them (a broken page); unescaped output would let markup through."""
    found = []
    for path in GRIDCARE.rglob("*.html"):
        text = path.read_text(encoding="utf-8")
        for pattern in (INLINE_HANDLER, INLINE_SCRIPT, UNSAFE_TEMPLATE):
            found += [f"{path.relative_to(GRIDCARE)}: {m.group(0)}" for m in pattern.finditer(text)]
    assert found == []


# The places that insert HTML: fragments rendered by our own (autoescaping) templates (the storm board's refresh
# is the board partial of repair/templates, rendered by the same view as the page).
SERVER_HTML = {
    ("app.js", "body.innerHTML = html"),
    ("intake.js", "panel.innerHTML = html"),
    ("storm.js", "board.innerHTML = html"),
}


def test_scripts_build_markup_from_data_only_through_text() -> None:
    """innerHTML / outerHTML / insertAdjacentHTML / document.write with anything but a fixed string, and string
    tooltips or popups (Leaflet inserts them as HTML), are refused: user text goes in with textContent."""
    sink = re.compile(
        r"(\w+\.(?:innerHTML|outerHTML)\s*\+?=\s*(?!\s)(?!(?:'[^'\n]*'|\"[^\"\n]*\")\s*[;)}\n])[^;\n]*|"
        r"insertAdjacentHTML\([^)]*\)|document\.write\w*\([^)]*\)|"
        r"bind(?:Tooltip|Popup)\((?!tip\()[^)]*\))"
    )
    found = []
    for path in GRIDCARE.rglob("static/**/*.js"):
        for m in sink.finditer(path.read_text(encoding="utf-8")):
            if (path.name, m.group(0).strip()) not in SERVER_HTML:
                found.append(f"{path.name}: {m.group(0)}")
    assert found == []
