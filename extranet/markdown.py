"""Markdown of the messages, event descriptions and roadmaps: one parser, one safe rendering.

Text is CommonMark (markdown-it-py, "commonmark" preset) plus tables and
strikethrough. Raw HTML in the source is shown as text, never interpreted.
Single line breaks are kept (``breaks``): the people who write here type an
address or a signature on separate lines and expect to see it so.
Bare URLs are not turned into links (that needs linkify-it-py, which we do
not ship); ``<https://…>`` and ``[label](https://…)`` make links.

The rendering is safe in two layers. The parsed tokens are first brought to
the platform's rules (``_apply_policy``): links only to http, https, mailto or
relative addresses (others lose their link and keep their text), a class
``external`` on links that leave the platform, images only from the platform's
file routes (static files, attachments; others become links),
headings demoted (a message never makes an h1 or h2: the page owns them).
Then nh3 cleans the HTML with an explicit allow-list, so that a mistake in the
first layer, or in markdown-it-py, still cannot let a script, an event
handler, a style or a foreign image through. Every link gets
``rel="nofollow noopener"``.

Mentions
--------
A mention is stored in the text as ``@[Marie Dupont](user:12)``: the name as
written at the time (so the text reads well in any excerpt, mail or export)
and the account id (so it stays unambiguous when two members share a name,
and survives edits of the surrounding text). The editor inserts it; build it
with ``mention(name, user_id)``. ``render(text, mention_url=…)`` shows it as a
link ``@Marie Dupont`` to ``mention_url(user_id)``, or as plain text when no
``mention_url`` is given or it returns None (account gone or not visible).
Writing ``\\@[…](user:12)`` shows the name as plain text and mentions nobody.
An id no account can have (above ``extranet.http.MAX_INT``) makes no mention
either: the text reads as ordinary Markdown.

``mentioned_user_ids(text)`` gives the ids to notify. It leaves out mentions
inside code (they are not rendered as mentions) and inside quotations: a
reply that quotes an earlier message must not notify its mentions again.
"""

import re
from collections.abc import Callable
from urllib.parse import urlsplit

import nh3
from flask import current_app, has_app_context
from flask_babel import gettext as _
from markdown_it import MarkdownIt
from markdown_it.common.utils import escapeHtml
from markdown_it.rules_core import StateCore
from markdown_it.rules_inline import StateInline
from markdown_it.token import Token
from markupsafe import Markup

from extranet.http import MAX_INT

__all__ = ["render", "mention", "mention_ids", "mentioned_user_ids", "quote", "excerpt"]

ALLOWED_SCHEMES = frozenset({"http", "https", "mailto"})
EXTERNAL_CLASS = "external"
MENTION_CLASS = "mention"

# A message's headings start at h3: the page has its h1 and the thread its h2.
HEADING_OFFSET = 2

# Name: no brackets, backslash or line break (``mention()`` removes them), bounded
# like the ids so that a long run of text is never scanned for nothing. Ids: at most
# ten digits here, then at most MAX_INT (``_mention_id``): the accounts mentioned are
# looked up, and PostgreSQL fails on a number its INTEGER cannot hold.
_MENTION = re.compile(r"@\[([^\[\]\\\n]{1,200})\]\(user:([0-9]{1,10})\)")
_SCHEME = re.compile(r"([A-Za-z][A-Za-z0-9+.\-]*):")
# The routes that serve files: static files and group attachments (groups.attachment).
# Not toolbox downloads: each view of the message would count as a download. No query string.
_IMAGE_SOURCE = re.compile(r"/static(?:/[A-Za-z0-9_\-][A-Za-z0-9_.\-]*)+|/groups/attachments/[0-9]{1,10}")
# DSFR classes for the alignment markdown-it would write as a style attribute.
_ALIGN_CLASSES = {"text-align:right": "fr-cell--right", "text-align:center": "fr-cell--center"}
# Characters that can start inline markup (the name never starts a line, so "#", "-"
# or "1." are safe); escaping only these keeps the quoted name readable in the editor.
_INLINE_MARKUP = re.compile(r"([\\`*_\[\]<>&~!@|])")


# --- Parser ---------------------------------------------------------------------


def _mention_id(found: re.Match) -> int | None:
    """The account id of a mention found by ``_MENTION``; None when no account can
    have it (then it is no mention: the text reads as ordinary Markdown)."""
    user_id = int(found.group(2))
    return user_id if user_id <= MAX_INT else None


def _mention_rule(state: StateInline, silent: bool) -> bool:
    # Inside a link label a mention would make a link in a link: leave it as text.
    if state.src[state.pos] != "@" or state.linkLevel > 0:
        return False
    found = _MENTION.match(state.src, state.pos, state.posMax)
    if found is None or not found.group(1).strip() or _mention_id(found) is None:
        return False
    if not silent:
        name = " ".join(found.group(1).split())
        token = state.push("mention", "", 0)
        token.content = "@" + name
        token.meta = {"user_id": _mention_id(found), "name": name}
    state.pos = found.end()
    return True


def _render_mention(renderer, tokens, idx, options, env) -> str:
    token = tokens[idx]
    label = escapeHtml(token.content)
    mention_url = env.get("mention_url")
    url = mention_url(token.meta["user_id"]) if mention_url else None
    if not url:
        return label
    return f'<a class="{MENTION_CLASS}" href="{escapeHtml(url)}">{label}</a>'


def _platform_host(base_url: str | None) -> str | None:
    if base_url is None:
        base_url = current_app.config.get("BASE_URL", "") if has_app_context() else ""
    try:
        return urlsplit(base_url).hostname or None
    except ValueError:
        return None


def _classify(href: str | None, host: str | None) -> str | None:
    """"internal", "external", "mailto", or None for an address we do not link to.

    Follows how a browser reads the address: a scheme is letters first, then
    letters, digits, + . -; anything else before a colon makes a relative
    address (markdown-it has already percent-encoded spaces and controls)."""
    if not href:
        return None
    try:
        scheme = _SCHEME.match(href)
        if scheme:
            name = scheme.group(1).lower()
            if name == "mailto":
                return "mailto"
            if name not in ("http", "https"):
                return None
            target = urlsplit(href).hostname
        elif href.startswith(("//", "/\\", "\\")):
            # Protocol-relative: another host unless it names ours. Browsers read "\" as "/".
            target = urlsplit("https:" + href.replace("\\", "/")).hostname
        else:
            return "internal"
    except ValueError:
        return None
    return "internal" if host and target == host else "external"


def _is_platform_path(src: str) -> bool:
    return (
        src.startswith("/")
        and not src.startswith(("//", "/\\"))
        and not any(c <= " " or c == "\\" for c in src)
    )


def _is_image_source(src: str) -> bool:
    """A path that may be an image: one that serves a file, never a page.

    Every reader's browser loads an image by itself: a page there would be
    fetched (and marked read, or worse) without anyone asking. Segments never
    start with a dot and "%" is refused, so that no "..", written or encoded,
    leads a static path elsewhere once the browser resolves it."""
    return _is_platform_path(src) and _IMAGE_SOURCE.fullmatch(src) is not None


def _platform_path(src: str | None, host: str | None) -> str | None:
    """The path of an image served by the platform, or None."""
    if not src:
        return None
    if _is_platform_path(src):
        return src
    if _classify(src, host) == "internal" and _SCHEME.match(src):
        # A full address of our own site: keep only the path, like a link pasted from the address bar.
        parts = urlsplit(src)
        path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        return path if _is_platform_path(path) else None
    return None


def _inline_text(tokens: list[Token] | None) -> str:
    out = []
    for token in tokens or []:
        if token.type in ("text", "code_inline", "mention"):
            out.append(token.content)
        elif token.type == "image":
            out.append(_inline_text(token.children))
        elif token.type in ("softbreak", "hardbreak"):
            out.append(" ")
    return "".join(out)


def _text_token(content: str) -> Token:
    return Token("text", "", 0, content=content)


def _link_tokens(href: str, label: str, external: bool) -> list[Token]:
    opening = Token("link_open", "a", 1, attrs={"href": href})
    if external:
        opening.attrSet("class", EXTERNAL_CLASS)
    return [opening, _text_token(label), Token("link_close", "a", -1)]


def _image(token: Token, host: str | None, in_link: bool, md: MarkdownIt) -> list[Token]:
    src = token.attrGet("src")
    alt = _inline_text(token.children)
    path = _platform_path(src if isinstance(src, str) else None, host)
    if path is not None and _is_image_source(path):
        token.attrSet("src", path)
        token.children = [_text_token(alt)]
        return [token]
    # A foreign image would let its server see who reads the thread, and when; a
    # platform page would be loaded by every reader: show a link to it instead (or
    # only its description inside a link).
    kind = _classify(src if isinstance(src, str) else None, host)
    if in_link or kind not in ("internal", "external"):
        return [_text_token(alt)]
    return _link_tokens(src, alt or md.normalizeLinkText(src), external=kind == "external")


def _inline_policy(children: list[Token], host: str | None, md: MarkdownIt) -> list[Token]:
    out: list[Token] = []
    in_link = dropped_link = False
    for token in children:
        if token.type == "link_open":
            kind = _classify(token.attrGet("href"), host)
            if kind is None:
                dropped_link = True
                continue
            if kind == "external":
                token.attrSet("class", EXTERNAL_CLASS)
            in_link = True
        elif token.type == "link_close":
            # CommonMark links never nest, so one flag pairs each close with its open.
            if dropped_link:
                dropped_link = False
                continue
            in_link = False
        elif token.type == "image":
            out.extend(_image(token, host, in_link, md))
            continue
        out.append(token)
    return out


def _apply_policy(state: StateCore) -> None:
    host = state.env.get("platform_host")
    for token in state.tokens:
        if token.type in ("heading_open", "heading_close"):
            token.tag = f"h{min(6, int(token.tag[1]) + HEADING_OFFSET)}"
        elif token.type in ("th_open", "td_open"):
            style = token.attrs.pop("style", None)
            if style in _ALIGN_CLASSES:
                token.attrSet("class", _ALIGN_CLASSES[style])
        elif token.type == "fence":
            # No highlighter here: the info string would only become a class.
            token.info = ""
        elif token.type == "inline" and token.children:
            token.children = _inline_policy(token.children, host, state.md)


def _make_parser() -> MarkdownIt:
    md = MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False, "breaks": True})
    md.enable(["table", "strikethrough"])
    md.inline.ruler.before("link", "mention", _mention_rule)
    md.core.ruler.push("extranet_policy", _apply_policy)
    md.add_render_rule("mention", _render_mention)
    return md


_parser = _make_parser()


# --- Sanitiser -------------------------------------------------------------------


def _filter_attribute(tag: str, attribute: str, value: str) -> str | None:
    if tag == "img" and attribute == "src":
        return value if _is_image_source(value) else None
    return value


_cleaner = nh3.Cleaner(
    tags={
        "p", "br", "hr", "h3", "h4", "h5", "h6", "strong", "em", "s", "del", "code", "pre",
        "blockquote", "ul", "ol", "li", "a", "img", "table", "thead", "tbody", "tr", "th", "td",
    },
    clean_content_tags={"script", "style"},
    attributes={"a": {"href", "title"}, "img": {"src", "alt", "title"}, "ol": {"start"}},
    allowed_classes={
        "a": {EXTERNAL_CLASS, MENTION_CLASS},
        "th": set(_ALIGN_CLASSES.values()),
        "td": set(_ALIGN_CLASSES.values()),
    },
    url_schemes=set(ALLOWED_SCHEMES),
    link_rel="nofollow noopener",
    strip_comments=True,
    attribute_filter=_filter_attribute,
)


# --- Public API -------------------------------------------------------------------


def render(
    text: str | None,
    mention_url: Callable[[int], str | None] | None = None,
    base_url: str | None = None,
) -> Markup:
    """Safe HTML of a Markdown text. ``base_url`` (default: the app's
    EXTRANET_BASE_URL) says which absolute links stay on the platform."""
    if not text:
        return Markup("")
    env = {"platform_host": _platform_host(base_url), "mention_url": mention_url}
    html = _parser.render(text, env)
    return Markup(_cleaner.clean(html))


def mention(name: str, user_id: int) -> str:
    """The stored form of a mention of ``user_id``, whose name is ``name``."""
    clean = " ".join(re.sub(r"[\[\]\\]", " ", name).split())[:200] or str(user_id)
    return f"@[{clean}](user:{int(user_id)})"


def mention_ids(text: str | None) -> set[int]:
    """Every account id the text's mentions may show, quotations and code
    included (more than are rendered): to load those accounts at once, before
    rendering with a ``mention_url`` that must not query one by one."""
    ids = (_mention_id(found) for found in _MENTION.finditer(text or ""))
    return {user_id for user_id in ids if user_id is not None}


def _parse(text: str | None) -> list[Token]:
    return _parser.parse(text or "", {"platform_host": None})


def mentioned_user_ids(text: str | None) -> set[int]:
    """Ids of the members mentioned in the text, outside code and quotations."""
    ids: set[int] = set()
    quote_depth = 0
    for token in _parse(text):
        if token.type == "blockquote_open":
            quote_depth += 1
        elif token.type == "blockquote_close":
            quote_depth -= 1
        elif token.type == "inline" and quote_depth == 0:
            # Only direct children: a mention in an image description is not one.
            ids.update(child.meta["user_id"] for child in token.children or [] if child.type == "mention")
    return ids


def _escape_inline(text: str) -> str:
    """Text that Markdown shows as typed, on one line."""
    return _INLINE_MARKUP.sub(r"\\\1", " ".join(text.split()))


def quote(author_name: str, text: str | None) -> str:
    """Markdown quoting an earlier message, to start a reply with.

    The earlier message's own quotations are left out, so that a chain of
    replies does not grow into a pyramid. Ends with a blank line: what is typed
    after it is the reply, not a continuation of the quotation."""
    lines = (text or "").replace("\r\n", "\n").replace("\r", "\n").split("\n")
    for token in _parse(text):
        if token.type == "blockquote_open" and token.level == 0 and token.map:
            start, end = token.map
            lines[start:end] = [""] * (end - start)
    body = re.sub(r"\n{3,}", "\n\n", "\n".join(line.rstrip() for line in lines)).strip("\n")

    header = _("%(name)s wrote:", name=f"**{_escape_inline(author_name)}**")
    quoted = [f"> {header}"]
    if body:
        quoted.append(">")
        quoted.extend(f"> {line}" if line else ">" for line in body.split("\n"))
    return "\n".join(quoted) + "\n\n"


def _plain_pieces(tokens: list[Token], with_quotes: bool) -> list[str]:
    pieces: list[str] = []
    quote_depth = 0
    for token in tokens:
        if token.type == "blockquote_open":
            quote_depth += 1
        elif token.type == "blockquote_close":
            quote_depth -= 1
        elif quote_depth and not with_quotes:
            continue
        elif token.type == "inline":
            pieces.append(_inline_text(token.children))
        elif token.type in ("code_block", "fence"):
            pieces.append(token.content)
    return pieces


def excerpt(text: str | None, length: int = 200) -> str:
    """Plain text of a message (no markup, entities decoded), at most ``length``
    characters, cut at a word with "…". For mails, notifications and search
    results: the caller escapes it like any text. The message's own words come
    first: quotations count only when there is nothing else."""
    tokens = _parse(text)
    words = " ".join(" ".join(_plain_pieces(tokens, with_quotes=False)).split())
    if not words:
        words = " ".join(" ".join(_plain_pieces(tokens, with_quotes=True)).split())
    if len(words) <= length:
        return words
    if length <= 1:
        return "…"[:length]
    cut = words[: length - 1]
    space = cut.rfind(" ")
    if space > length // 2:
        cut = cut[:space]
    return cut.rstrip(" ,;:.-") + "…"
