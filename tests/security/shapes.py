"""Hostile request targets: every way of spelling a private path a server might resolve.

Atoms (dot segments, separators, suffixes, prefixes) are combined into named families, each
applied to every private object; `compositions` is the Hypothesis strategy that mixes them
freely. Targets are raw bytes on the wire: nothing here is ever normalised by a client.
"""

from __future__ import annotations

from dataclasses import dataclass

from hypothesis import strategies as st

# Spellings of `..`: plain, percent-encoded in both cases, double-encoded, overlong UTF-8, and
# the near-dots some servers strip (`..;`, trailing space or NUL).
DOTDOTS = (
    "..", "%2e%2e", "%2E%2e", ".%2e", "%2e.", "%252e%252e", "%c0%ae%c0%ae",
    "%e0%80%ae%e0%80%ae", "..;", "..%20", "..%00", "%2e%2e%3b",
)  # fmt: skip
# Spellings of `/`.
SEPARATORS = ("/", "%2f", "%2F", "%252f", "\\", "%5c", "%5C", "%c0%af", "//", "/./", "/;/")
SUFFIXES = (
    ".", "%20", "%00", "%2e", ";", ";x=1", "/", "/.", "/..", "%3f", "%23", "#", "#frag", "?",
    "??", "?#", "#?x=1", "?x=1#y", "?&", "?;", "?%00", "?Policy=", "?Key-Pair-Id=",
    "?Expires=1&Signature=x&Key-Pair-Id=K", "%0d%0aX:y", "~", "%7e", "::$DATA",
)  # fmt: skip
# A public-looking tail: the path would match the public `/hls/*/poster.jpg` behavior.
POSTER_TAILS = (
    "/poster.jpg", ";/poster.jpg", "%00/poster.jpg", "%3f/poster.jpg", "%23/poster.jpg",
    "#/poster.jpg", "?/poster.jpg", "%2fposter.jpg", "/..%2fposter.jpg", "%0a/poster.jpg",
    "/%2e%2e/poster.jpg", "\\poster.jpg", ";.jpg",
)  # fmt: skip
# Every behavior prefix a request could enter by, in spellings a server might fold together.
PREFIXES = (
    "/api", "/API", "/Api", "/api/", "/api/.", "/api/..", "/api/%2e%2e", "/api/%2E%2e",
    "/api%2f", "/api/%252e%252e", "/api/api", "/api;", "/videos", "/videos/..", "/videos%2f..",
    "/hls/{T}/poster.jpg", "/hls/{T}/poster.jpg/..", "/healthz/..", "/healthz", "/admin/..",
    "/admin", "/metrics/..", "/;", "/%2e",
)  # fmt: skip


@dataclass(frozen=True)
class Shape:
    family: str
    target: str  # the request target, byte for byte
    foreign: bool = False  # sent with cookies for the *other* video


def split(path: str) -> tuple[str, str, str]:
    """`/hls/<id>/180p/seg.ts` → (`hls`, `<id>`, `180p/seg.ts`)."""
    first, owner, rest = path[1:].split("/", 2)
    return first, owner, rest


def dot_climbs(path: str) -> list[Shape]:
    """A detour through a junk segment and back, in every spelling of `..` and `/`."""
    first, owner, rest = split(path)
    shapes = [Shape("dot-climb", f"/{first}/x/{dd}/{owner}/{rest}") for dd in DOTDOTS]
    shapes += [Shape("dot-climb", f"/x/{dd}{sep}{path[1:]}") for dd in ("..", "%2e%2e")
               for sep in SEPARATORS]  # fmt: skip
    return shapes


def cross_object(path: str, other: str) -> list[Shape]:
    """From the video the viewer holds cookies for, climb into the target."""
    return [
        Shape("cross-object", f"/hls/{other}/{dd}{sep}{dd}{sep}{path[1:]}", foreign=True)
        for dd in DOTDOTS
        for sep in ("/", "%2f", "\\", "%5c", "%c0%af")
    ] + [Shape("cross-object", path, foreign=True)]


def separators(path: str) -> list[Shape]:
    """Every `/` after the first spelled another way, or only the last one."""
    shapes = []
    for sep in SEPARATORS:
        shapes.append(Shape("separators", "/" + path[1:].replace("/", sep)))
        head, _, tail = path.rpartition("/")
        shapes.append(Shape("separators", f"{head}{sep}{tail}"))
    return shapes


def suffixes(path: str) -> list[Shape]:
    return [Shape("suffixes", path + s) for s in SUFFIXES]


def case_variants(path: str) -> list[Shape]:
    first, owner, rest = split(path)
    stem, dot, ext = rest.rpartition(".")
    shapes = [
        Shape("case", f"/{first.upper()}/{owner}/{rest}"),
        Shape("case", f"/{first.capitalize()}/{owner}/{rest}"),
        Shape("case", f"/{first}/{owner.upper()}/{rest}"),
    ]
    if dot:
        shapes.append(Shape("case", f"/{first}/{owner}/{stem}.{ext.upper()}"))
    return shapes


def public_tails(path: str, target: str) -> list[Shape]:
    """Private paths dressed up as the public poster, and the poster climbing into them."""
    shapes = [Shape("public-tail", path + tail) for tail in POSTER_TAILS]
    shapes += [Shape("public-tail", f"/hls/{target}/poster.jpg/{dd}/..{path}")
               for dd in ("..", "%2e%2e", "%2E%2e")]  # fmt: skip
    first, owner, rest = split(path)
    if first == "hls" and owner == target:
        shapes += [Shape("public-tail", f"/hls/{target}/poster.jpg/{dd}/{rest}")
                   for dd in ("..", "%2e%2e", "..%2f")]  # fmt: skip
    return shapes


def leading(path: str) -> list[Shape]:
    body = path[1:]
    return [
        Shape("leading", t)
        for t in ("//" + body, "///" + body, "/./" + body, "/%2e/" + body, "/%2f" + body,
                  "\\" + body, "/\\" + body, "%2f" + body)
    ]  # fmt: skip


def prefixed(path: str, target: str) -> list[Shape]:
    """Through every behavior prefix, anonymous and with the other video's cookies."""
    shapes = []
    for raw in PREFIXES:
        prefix = raw.replace("{T}", target)
        for foreign in (False, True):
            shapes.append(Shape("prefixes", prefix + path, foreign))
            shapes.append(Shape("prefixes", prefix + "/" + path, foreign))
    return shapes


def absolute_forms(path: str, edge_authority: str, domain: str) -> list[Shape]:
    """Absolute-form targets (`GET http://host/path`), which proxies and servers resolve."""
    return [
        Shape("absolute", t)
        for t in (f"http://other{path}", f"http://{edge_authority}{path}",
                  f"http://{domain}/api{path}", f"https://x{path}", f"http://u:p@{edge_authority}{path}",
                  f"HTTP://OTHER{path}", f"http://{edge_authority}/api/..{path}",
                  f"http://{edge_authority}/api{path}", f"//other{path}")
    ]  # fmt: skip


def every_shape(path: str, target: str, other: str, authority: str, domain: str) -> list[Shape]:
    """Every named family applied to one private object's path."""
    return (
        [Shape("plain", path)] + dot_climbs(path) + cross_object(path, other) + separators(path)
        + suffixes(path) + case_variants(path) + public_tails(path, target) + leading(path)
        + prefixed(path, target) + absolute_forms(path, authority, domain)
    )  # fmt: skip


FAMILIES = (
    "plain", "dot-climb", "cross-object", "separators", "suffixes", "case", "public-tail",
    "leading", "prefixes", "absolute",
)  # fmt: skip


def _encode_one(segment: str, index: int, style: str) -> str:
    """Percent-encode one character of `segment` (lower, upper or double encoding)."""
    if not segment:
        return segment
    i = index % len(segment)
    code = f"{ord(segment[i]):02x}"
    encoded = {"lower": f"%{code}", "upper": f"%{code.upper()}", "double": f"%25{code}"}[style]
    return segment[:i] + encoded + segment[i + 1 :]


@st.composite
def compositions(draw: st.DrawFn, paths: list[str], target: str) -> Shape:
    """A free mix of the atoms: prefix, per-segment separator, detours, encodings, suffix."""
    path = draw(st.sampled_from(paths))
    prefix = draw(st.sampled_from(("",) * 6 + PREFIXES)).replace("{T}", target)
    out = prefix
    for segment in path[1:].split("/"):
        if draw(st.integers(0, 4)) == 0:  # a detour: junk, then back up
            out += draw(st.sampled_from(SEPARATORS)) + "x" + draw(st.sampled_from(SEPARATORS))
            out += draw(st.sampled_from(DOTDOTS))
        if draw(st.integers(0, 5)) == 0:
            segment = segment.upper() if draw(st.booleans()) else segment.capitalize()
        if draw(st.integers(0, 3)) == 0:
            style = draw(st.sampled_from(("lower", "upper", "double")))
            segment = _encode_one(segment, draw(st.integers(0, 63)), style)
        out += draw(st.sampled_from(("/",) * 8 + SEPARATORS)) + segment
    out += draw(st.sampled_from(("",) * 6 + SUFFIXES + POSTER_TAILS))
    return Shape("composed", out, foreign=draw(st.booleans()))
