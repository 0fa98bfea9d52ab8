"""Operator-sent Markdown on pages: the safe subset and the card excerpt, against hand-written expectations."""

from __future__ import annotations

import pytest

from procert.web.markdown import plain_excerpt, render_markdown


@pytest.mark.parametrize(
    ("source", "html"),
    [
        ("# 見出し", "<h3>見出し</h3>\n"),
        ("## 概要", "<h3>概要</h3>\n"),  # the first level used is h3, whatever it was
        ("# 一\n\n### 三\n\n# 一", "<h3>一</h3>\n<h4>三</h4>\n<h3>一</h3>\n"),  # no level skipped
        ("<b>太字</b>", "<p>&lt;b&gt;太字&lt;/b&gt;</p>\n"),
        ("<div onclick=x>\nブロック\n</div>", "<p>&lt;div onclick=x&gt;\nブロック\n&lt;/div&gt;</p>\n"),
        (
            "[a](https://ex.jp/p?q=1&r=2)",
            '<p><a href="https://ex.jp/p?q=1&amp;r=2" rel="nofollow ugc noopener">a</a></p>\n',
        ),
        ("[m](mailto:jobs@ex.jp)", '<p><a href="mailto:jobs@ex.jp" rel="nofollow ugc noopener">m</a></p>\n'),
        ("[rel](../admin)", '<p><a href="#" rel="nofollow ugc noopener">rel</a></p>\n'),
        ("[js](javascript:alert(1))", "<p>[js](javascript:alert(1))</p>\n"),
        ("[d](data:text/html;base64,PHNjcmlwdD4=)", "<p>[d](data:text/html;base64,PHNjcmlwdD4=)</p>\n"),
        (
            '[t](https://ex.jp "x\\" onmouseover=\\"y")',
            '<p><a href="https://ex.jp" title="x&quot; onmouseover=&quot;y" rel="nofollow ugc noopener">t</a></p>\n',
        ),
        ("", ""),
    ],
)
def test_markdown_renders_the_safe_subset(source: str, html: str):
    assert str(render_markdown(source)) == html


def test_images_are_not_loaded():
    assert "<img" not in render_markdown("![pixel](https://tracker.example/p.gif)")


@pytest.mark.parametrize(
    ("source", "limit", "excerpt"),
    [
        ("## 概要\n\n**急募**の案件です。\n\n- `Python`\n- 週3日", 100, "概要 急募の案件です。 Python 週3日"),
        ("一行目\n二行目", 100, "一行目 二行目"),
        ("あいうえおかきくけこ", 6, "あいうえお…"),
        ("あいうえお", 5, "あいうえお"),  # exactly the limit: not cut
        (None, 100, ""),
    ],
)
def test_the_excerpt_is_words_without_markdown(source: str | None, limit: int, excerpt: str):
    assert plain_excerpt(source, limit) == excerpt
