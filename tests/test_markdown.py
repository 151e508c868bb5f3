"""The shared Markdown rendering of messages, event descriptions and roadmaps.

The XSS payloads are rendered for real and the HTML is read back by a real
HTML parser (the standard library's, which decodes entities in attribute
values as a browser does): what a browser would run or load is checked on
what it would see, not on the text of the output.
"""

import html
import re
from html.parser import HTMLParser

import pytest
from flask import render_template_string, url_for

from extranet import create_app
from extranet.http import MAX_INT
from extranet.markdown import excerpt, mention, mention_ids, mentioned_user_ids, quote, render

BASE_URL = "https://extranet.example.gouv.fr"

ALLOWED_TAGS = {
    "p", "br", "hr", "h3", "h4", "h5", "h6", "strong", "em", "s", "del", "code", "pre",
    "blockquote", "ul", "ol", "li", "a", "img", "table", "thead", "tbody", "tr", "th", "td",
}
FORBIDDEN_TAGS = {
    "script", "iframe", "object", "embed", "svg", "math", "style", "form", "input", "button",
    "textarea", "link", "meta", "base", "frame", "frameset", "details", "template", "video", "audio",
}
ALLOWED_ATTRIBUTES = {"href", "title", "class", "rel", "src", "alt", "start"}


class Elements(HTMLParser):
    def __init__(self, text: str):
        super().__init__(convert_charrefs=True)
        self.elements: list[tuple[str, dict[str, str | None]]] = []
        self.feed(text)
        self.close()

    def handle_starttag(self, tag, attrs):
        self.elements.append((tag, dict(attrs)))

    def handle_startendtag(self, tag, attrs):
        self.elements.append((tag, dict(attrs)))

    def tags(self, name: str) -> list[dict]:
        return [attrs for tag, attrs in self.elements if tag == name]


def url_scheme(value: str) -> str | None:
    """The scheme a browser would see: it drops ASCII whitespace and controls, and ignores case."""
    squeezed = re.sub(r"[\x00-\x20\x7f]", "", value).lower()
    found = re.match(r"([a-z][a-z0-9+.\-]*):", squeezed)
    return found.group(1) if found else None


def is_platform_path(value: str) -> bool:
    squeezed = re.sub(r"[\x00-\x20\x7f]", "", value)
    return squeezed.startswith("/") and not squeezed.startswith(("//", "/\\"))


def is_file_route(value: str) -> bool:
    """What an image may load: a static file or a group attachment; never a page."""
    return re.fullmatch(
        r"/static(/[\w\-][\w.\-]*)+|/groups/attachments/\d+", value, re.ASCII
    ) is not None


def assert_safe(rendered: str) -> None:
    for tag, attrs in Elements(rendered).elements:
        assert tag not in FORBIDDEN_TAGS, rendered
        assert tag in ALLOWED_TAGS, rendered
        for name, value in attrs.items():
            assert not name.startswith("on"), rendered
            assert name != "style", rendered
            assert name in ALLOWED_ATTRIBUTES, rendered
            if name in ("href", "src"):
                assert url_scheme(value or "") in (None, "http", "https", "mailto"), rendered
        if tag == "img":
            assert is_platform_path(attrs.get("src") or ""), rendered
            assert is_file_route(attrs.get("src") or ""), rendered


XSS_PAYLOADS = [
    # Raw HTML: shown as text, never interpreted.
    "<script>alert(1)</script>",
    "<SCRIPT SRC=//xss.example/x.js></SCRIPT>",
    "<scr<script>ipt>alert(1)</scr</script>ipt>",
    "<img src=x onerror=alert(1)>",
    "<IMG SRC=\"javascript:alert('XSS');\">",
    "<svg onload=alert(1)>",
    "<svg><script>alert(1)</script></svg>",
    '<iframe src="javascript:alert(1)"></iframe>',
    "<iframe srcdoc='&lt;script&gt;alert(1)&lt;/script&gt;'></iframe>",
    '<a href="javascript:alert(1)">x</a>',
    '<a href="&#0000106&#0000097&#0000118&#0000097&#0000115&#0000099&#0000114&#0000105&#0000112&#0000116&#0000058alert(1)">x</a>',
    '<a href="jav&#x0A;ascript:alert(1)">x</a>',
    '<div style="background:url(javascript:alert(1))">x</div>',
    '<p style="width: expression(alert(1))">x</p>',
    "<style>body { display: none }</style>",
    "<body onload=alert(1)>",
    '<object data="data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg=="></object>',
    '<embed src="javascript:alert(1)">',
    "<math><mtext><table><mglyph><style><img src=x onerror=alert(1)>",
    '<form action="javascript:alert(1)"><input type=submit></form>',
    '<meta http-equiv="refresh" content="0;url=javascript:alert(1)">',
    '<base href="javascript:/">',
    "<details open ontoggle=alert(1)>",
    "<x onclick=alert(1)>click</x>",
    # HTML comments and nesting.
    "<!-- --><script>alert(1)</script><!-- -->",
    '<!--<img src="--><img src=x onerror=alert(1)//">',
    "**<img src=x onerror=alert(1)>**",
    "~~<script>alert(1)</script>~~",
    "> <iframe src=//evil.example>",
    "| a |\n|---|\n| <svg onload=alert(1)> |",
    "- <img src=x onerror=alert(1)>\n  - [x](javascript:alert(1))",
    # Markdown links with a dangerous scheme, plain and obfuscated.
    "[click](javascript:alert(1))",
    "[click](JaVaScRiPt:alert(1))",
    "[click](<javascript:alert(1)>)",
    "[click](java&#x09;script:alert(1))",
    "[click](&#106;avascript:alert(1))",
    "[click](&#x6A;&#x61;&#x76;&#x61;script&#x3A;alert(1))",
    "[click](javascript&colon;alert(1))",
    "[click](javascript://%0aalert(1))",
    "[click](vbscript:msgbox(1))",
    "[click](VBScript:msgbox(1))",
    "[click](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
    "[click](file:///etc/passwd)",
    "[click](\x01javascript:alert(1))",
    "[click](\u200bjavascript:alert(1))",
    "[click](\uff4a\uff41\uff56\uff41script:alert(1))",
    "[click](%6Aavascript:alert(1))",
    '[x](https://ok.example "a\\" onmouseover=\\"alert(1)")',
    "[<img src=x onerror=alert(1)>](https://ok.example)",
    "[![x](javascript:alert(1))](javascript:alert(2))",
    # Images: only from the platform.
    "![x](javascript:alert(1))",
    "![x](https://evil.example/track.png)",
    "![x](//evil.example/track.png)",
    "![x](/\\evil.example/track.png)",
    "![x](data:image/svg+xml;base64,PHN2ZyBvbmxvYWQ9YWxlcnQoMSk+)",
    "![x](data:image/png;base64,iVBORw0KGgo=)",
    '![x" onerror="alert(1)](/ok.png)',
    '![x](/ok.png "t\\" onerror=\\"alert(1)")',
    "[![x](https://evil.example/a.png)](https://ok.example)",
    # Autolinks.
    "<javascript:alert(1)>",
    "<JAVASCRIPT:alert(1)>",
    "<data:text/html,<script>alert(1)</script>>",
    "<vbscript:msgbox(1)>",
    # Reference links and images.
    "[x][r]\n\n[r]: javascript:alert(1)",
    "[x][r]\n\n[r]: <data:text/html,x>",
    "![x][r]\n\n[r]: https://evil.example/a.png",
    "[x]\n\n[x]: jAvAsCrIpT:alert(1) 'title'",
    # Code: shown escaped.
    "`<script>alert(1)</script>`",
    "```html\n<script>alert(1)</script>\n```",
    "```js onload=alert(1)\nx\n```",
    "    <img src=x onerror=alert(1)>",
    # Mentions carrying markup.
    "@[<img src=x onerror=alert(1)>](user:1)",
    '@[x" onclick="alert(1)](user:1)',
    # Unicode tricks.
    "[\u202egnp.exe](https://evil.example)",
    "<scr\u0000ipt>alert(1)</scr\u0000ipt>",
    "[x](java\u0000script:alert(1))",
]


@pytest.mark.parametrize("payload", XSS_PAYLOADS)
def test_xss_payload_renders_harmless(payload):
    assert_safe(render(payload, base_url=BASE_URL))
    assert_safe(render(payload, mention_url=lambda user_id: f"/members/{user_id}", base_url=BASE_URL))


def test_there_are_enough_payloads():
    assert len(set(XSS_PAYLOADS)) >= 40


def test_a_dangerous_mention_address_is_dropped():
    """Even a wrong mention_url (a bug in a caller) cannot make a script link."""
    rendered = render("@[Marie](user:1)", mention_url=lambda user_id: "javascript:alert(1)")
    assert_safe(rendered)
    assert "@Marie" in rendered


def test_the_checker_catches_what_it_must():
    """The checks above would fail on unsafe HTML (so they are not passing for nothing)."""
    for unsafe in [
        "<script>x</script>",
        '<a href="jav&#x09;ascript:alert(1)">x</a>',
        '<a href=" JAVASCRIPT:alert(1)">x</a>',
        '<img src="//evil.example/a.png">',
        '<img src="/x.png" onerror="x">',
        '<img src="/groups/threads/1?page=999">',
        '<p style="color:red">x</p>',
    ]:
        with pytest.raises(AssertionError):
            assert_safe(unsafe)


# --- Ordinary Markdown ------------------------------------------------------------


def test_raw_html_is_shown_as_text_and_nothing_is_lost():
    rendered = render("Use <b>bold</b> & <script>alert(1)</script>")
    assert "&lt;b&gt;bold&lt;/b&gt; &amp; &lt;script&gt;alert(1)&lt;/script&gt;" in rendered


def test_emphasis_strong_and_strikethrough():
    rendered = render("*em* **strong** ~~gone~~")
    assert rendered == "<p><em>em</em> <strong>strong</strong> <s>gone</s></p>\n"


def test_line_breaks_are_kept():
    assert render("12 rue de la Paix\n75002 Paris") == "<p>12 rue de la Paix<br>\n75002 Paris</p>\n"


def test_lists():
    rendered = render("- one\n- two\n\n3. three\n4. four")
    assert "<ul>\n<li>one</li>\n<li>two</li>\n</ul>" in rendered
    assert '<ol start="3">\n<li>three</li>\n<li>four</li>\n</ol>' in rendered


def test_code_is_escaped_and_gets_no_class():
    rendered = render("```python\nif a < b and c & d:\n    print('<b>')\n```\n\nand `<i>`")
    assert "<pre><code>if a &lt; b and c &amp; d:\n    print('&lt;b&gt;')\n</code></pre>" in rendered
    assert "<code>&lt;i&gt;</code>" in rendered
    assert "class=" not in rendered


def test_tables_align_with_dsfr_classes_not_styles():
    rendered = render("| Territoire | Places | État |\n|:--|--:|:-:|\n| Lyon | 120 | ouvert |")
    table = Elements(rendered)
    assert [attrs.get("class") for attrs in table.tags("th")] == [None, "fr-cell--right", "fr-cell--center"]
    assert [attrs.get("class") for attrs in table.tags("td")] == [None, "fr-cell--right", "fr-cell--center"]
    assert "style" not in rendered


def test_headings_are_demoted_below_the_page_headings():
    rendered = render("# One\n\n## Two\n\n### Three\n\n#### Four\n\n###### Six\n\nSetext\n======")
    assert re.findall(r"<(h\d)>", rendered) == ["h3", "h4", "h5", "h6", "h6", "h3"]


def test_links_get_rel_and_external_ones_a_class():
    rendered = render(
        "[guide](https://www.ecologie.gouv.fr/guide) [boîte](/toolbox/3) [accueil](https://extranet.example.gouv.fr/) "
        "[ici](#bas) [écrire](mailto:dihal@example.gouv.fr) [ailleurs](//evil.example/x) <https://example.org>",
        base_url=BASE_URL,
    )
    links = {tag_text: attrs for tag_text, attrs in _links(rendered)}
    assert all(attrs["rel"] == "nofollow noopener" for attrs in links.values())
    assert links["guide"].get("class") == "external"
    assert links["ailleurs"].get("class") == "external"
    assert links["https://example.org"].get("class") == "external"
    for internal in ("boîte", "accueil", "ici", "écrire"):
        assert "class" not in links[internal], internal
    assert not any("target" in attrs for attrs in links.values())


def _links(rendered: str) -> list[tuple[str, dict]]:
    return [
        (html.unescape(re.sub(r"<[^>]+>", "", label)), dict(Elements(f"<a {attrs}>").elements[0][1]))
        for attrs, label in re.findall(r"<a ([^>]*)>(.*?)</a>", rendered)
    ]


def test_a_link_with_another_scheme_keeps_its_text():
    rendered = render("[le dossier](ftp://files.example/x) [la page](user:3)")
    assert rendered == "<p>le dossier la page</p>\n"


def test_images_only_from_the_platform():
    rendered = render(
        "![logo](/static/logo.png) ![photo](https://extranet.example.gouv.fr/groups/attachments/7) "
        "![pixel](https://tracker.example/p.png) ![](https://tracker.example/q.png) ![inline](data:image/png;base64,AAAA)",
        base_url=BASE_URL,
    )
    images = Elements(rendered).tags("img")
    assert images == [{"src": "/static/logo.png", "alt": "logo"}, {"src": "/groups/attachments/7", "alt": "photo"}]
    assert '<a href="https://tracker.example/p.png" class="external" rel="nofollow noopener">pixel</a>' in rendered
    assert ">https://tracker.example/q.png</a>" in rendered
    assert "inline" in rendered and "data:" not in rendered


def test_images_load_only_the_routes_that_serve_files(tmp_path):
    """Built by the app's own routes, so that renaming one breaks this test rather than every image."""
    app = _app(tmp_path)
    with app.test_request_context():
        sources = [
            url_for("static", filename="img/plan.png"),
            url_for("groups.attachment", attachment_id=12),
        ]
        rendered = render(" ".join(f"![image {n}]({src})" for n, src in enumerate(sources)))
    assert [image["src"] for image in Elements(rendered).tags("img")] == sources
    assert_safe(rendered)


@pytest.mark.parametrize("src", [
    "/groups/threads/123?page=999",  # every reader would load the thread, and mark it read
    "/groups/threads/123",
    "https://extranet.example.gouv.fr/groups/threads/123",
    "/toolbox/",
    "/toolbox/3/download",  # a view of the message would count as a download
    "/auth/logout",
    "/groups/attachments/12?x=1",
    "/groups/attachments/12/../../threads/1",
    "/toolbox/3/download/../../../groups/threads/1",
    "/static/../groups/threads/1",
    "/static/./../groups/threads/1",
    "/static/%2e%2e/groups/threads/1",
    "/static/%2E%2E/groups/threads/1",
    "/static/.%2e/groups/threads/1",
    "/static/",
    "/static",
    "/staticx/a.png",
])
def test_an_image_of_a_page_becomes_a_link(src):
    rendered = render(f"![le plan]({src}) et ![]({src})", base_url=BASE_URL)
    assert Elements(rendered).tags("img") == []
    assert_safe(rendered)
    links = Elements(rendered).tags("a")
    assert len(links) == 2 and all(link["href"] == links[0]["href"] for link in links)
    text = html.unescape(re.sub(r"<[^>]+>", "", rendered))
    assert text.startswith("le plan et ")
    # Inside a link, only the description stays.
    assert render(f"[![le plan]({src})](/groups/)", base_url=BASE_URL) == '<p><a href="/groups/" rel="nofollow noopener">le plan</a></p>\n'


def test_the_sanitiser_drops_an_image_of_a_page_too():
    """The second layer alone: an image markdown-it let through to a page loses its source."""
    from extranet.markdown import _cleaner

    cleaned = _cleaner.clean('<img src="/groups/threads/1?page=999" alt="x"><img src="/groups/attachments/5" alt="y">')
    assert [image.get("src") for image in Elements(cleaned).tags("img")] == [None, "/groups/attachments/5"]


def test_platform_host_comes_from_the_configuration(tmp_path):
    app = _app(tmp_path)
    with app.app_context():
        rendered = render("[a](https://extranet.example.gouv.fr/x) [b](https://example.org)")
    assert '<a href="https://extranet.example.gouv.fr/x" rel="nofollow noopener">a</a>' in rendered
    assert 'class="external"' in rendered


def test_empty_text():
    assert render("") == "" and render(None) == ""
    assert excerpt(None) == "" and mentioned_user_ids(None) == set()


# --- Mentions -------------------------------------------------------------------


def test_mention_is_a_link_when_an_address_is_given():
    rendered = render("Merci @[Marie Dupont](user:12) !", mention_url=lambda user_id: f"/members/{user_id}")
    assert rendered == (
        '<p>Merci <a class="mention" href="/members/12" rel="nofollow noopener">@Marie Dupont</a> !</p>\n'
    )


def test_mention_is_plain_text_by_default_or_for_a_gone_account():
    assert render("Merci @[Marie Dupont](user:12) !") == "<p>Merci @Marie Dupont !</p>\n"
    assert render("@[Marie Dupont](user:12)", mention_url=lambda user_id: None) == "<p>@Marie Dupont</p>\n"


def test_mention_name_is_escaped():
    rendered = render("@[Tom <b>&</b>](user:3)", mention_url=lambda user_id: "/members/3")
    assert ">@Tom &lt;b&gt;&amp;&lt;/b&gt;</a>" in rendered


def test_mentioned_user_ids():
    text = (
        "@[Marie Dupont](user:12), @[Paul Martin](user:7) et encore @[Marie Dupont](user:12)\n\n"
        "- dans une liste @[Léa](user:30)\n\n| qui |\n|---|\n| @[Ali](user:31) |"
    )
    assert mentioned_user_ids(text) == {12, 7, 30, 31}


@pytest.mark.parametrize(
    "text",
    [
        "`@[Marie](user:1)`",
        "```\n@[Marie](user:1)\n```",
        "    @[Marie](user:1)",
        "> @[Marie](user:1)",
        "> > @[Marie](user:1)",
        "> - @[Marie](user:1)",
        "\\@[Marie](user:1)",
        "[@[Marie](user:1)](https://example.org)",
        "![@[Marie](user:1)](/a.png)",
        "@[Marie](user:x1)",
        "@[](user:1)",
        "@ [Marie](user:1)",
    ],
)
def test_mentions_that_do_not_notify(text):
    assert mentioned_user_ids(text) == set()


@pytest.mark.parametrize("user_id", [MAX_INT + 1, 99_999_999_999, 999_999_999_999_999_999, 10**40])
def test_an_id_no_account_can_have_makes_no_mention(user_id):
    """The ids are looked up in the database: one that PostgreSQL cannot hold would fail the page."""
    text = f"Merci @[Marie](user:{user_id}) !"
    for written in (text, f"`{text}`", f"> {text}", f"```\n{text}\n```"):
        assert mention_ids(written) == set() and mentioned_user_ids(written) == set()
    rendered = render(text, mention_url=lambda user_id: f"/members/{user_id}")
    assert rendered == "<p>Merci @Marie !</p>\n"  # ordinary Markdown: a link to an unknown scheme keeps its text


def test_the_largest_id_is_still_a_mention():
    text = f"@[Marie](user:{MAX_INT}) `@[Paul](user:{MAX_INT - 1})`"
    assert mentioned_user_ids(text) == {MAX_INT} and mention_ids(text) == {MAX_INT, MAX_INT - 1}
    assert f'href="/members/{MAX_INT}"' in render(text, mention_url=lambda user_id: f"/members/{user_id}")


def test_mention_helper_round_trip():
    stored = mention("Anne [CCAS] Lyon\\Est", 42)
    assert stored == "@[Anne CCAS Lyon Est](user:42)"
    assert mentioned_user_ids(f"Bonjour {stored}") == {42}
    assert render(stored) == "<p>@Anne CCAS Lyon Est</p>\n"


# --- Quotation --------------------------------------------------------------------


def test_quote_round_trip(tmp_path):
    earlier = "Voici le **compte rendu** pour @[Paul](user:7).\n\n```\nligne <1>\n```"
    from flask_babel import force_locale

    # In English: the French catalog translates "wrote:".
    with _app(tmp_path).test_request_context(), force_locale("en"):
        reply = quote("Marie Dupont", earlier) + "Merci @[Marie Dupont](user:12) !"
    assert reply.startswith("> **Marie Dupont** wrote:\n>\n> Voici le **compte rendu**")
    rendered = render(reply)
    quoted, after = rendered.split("</blockquote>")
    assert "<strong>Marie Dupont</strong> wrote:" in quoted
    assert "<strong>compte rendu</strong> pour @Paul" in quoted
    assert "<pre><code>ligne &lt;1&gt;\n</code></pre>" in quoted
    # What follows the quotation is the reply, and only its mentions notify.
    assert "<p>Merci @Marie Dupont !</p>" in after
    assert mentioned_user_ids(reply) == {12}


def test_quote_leaves_out_the_earlier_quotations():
    earlier = quote("Paul", "Première version ?") + "Oui, validée.\n> lazy line is part of nothing"
    twice = quote("Marie", earlier)
    assert "Première version" not in twice
    assert "Oui, validée." in twice
    assert twice.count("wrote:") == 1


def test_quote_shows_the_author_name_as_typed():
    rendered = render(quote("Jean-Pierre *d'Ormesson* @[x](user:1) <b>", "Bonjour"))
    assert "<strong>Jean-Pierre *d'Ormesson* @[x](user:1) &lt;b&gt;</strong>" in rendered
    assert mentioned_user_ids(quote("@[x](user:1)", "")) == set()


def test_quote_of_an_empty_message():
    assert quote("Marie", "") == "> **Marie** wrote:\n\n"


# --- Excerpt ------------------------------------------------------------------------


def test_excerpt_is_plain_text():
    text = "# Réunion\n\nLe **club** des _territoires_ &amp; [la Dihal](https://example.org) : `ordre du jour` @[Marie](user:1)"
    assert excerpt(text) == "Réunion Le club des territoires & la Dihal : ordre du jour @Marie"


def test_excerpt_is_bounded_and_cut_at_a_word():
    text = "Les territoires de mise en œuvre accélérée se réunissent deux fois par an. " * 10
    short = excerpt(text, 60)
    assert len(short) <= 60
    assert short.endswith("…")
    assert text.startswith(short[:-1])
    assert text[len(short) - 1] == " "


def test_excerpt_prefers_the_message_over_its_quotation():
    reply = quote("Marie", "Le texte d'avant.") + "Ma réponse."
    assert excerpt(reply) == "Ma réponse."
    assert excerpt("> Seulement une citation.") == "Seulement une citation."


def test_excerpt_is_the_text_as_typed_for_the_caller_to_escape():
    assert excerpt("<script>alert(1)</script>") == "<script>alert(1)</script>"
    assert excerpt("![x](https://evil.example/a.png) texte") == "x texte"


# --- Templates ------------------------------------------------------------------------


def _app(tmp_path):
    return create_app(
        {
            "ENV": "testing",
            "SECRET_KEY": "test",
            "DATA_DIR": str(tmp_path),
            "DATABASE_URL": f"sqlite:///{tmp_path / 'unused.sqlite3'}",
            "BASE_URL": BASE_URL,
        }
    )


def test_markdown_filter_in_templates(tmp_path):
    with _app(tmp_path).test_request_context():
        page = render_template_string(
            "<div>{{ text|markdown }}</div>", text="**Bonjour** <script>alert(1)</script>"
        )
    assert page == "<div><p><strong>Bonjour</strong> &lt;script&gt;alert(1)&lt;/script&gt;</p>\n</div>"
