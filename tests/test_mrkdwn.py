"""Unit tests: Markdown as models write it to Slack mrkdwn, and splitting long replies
(slack_client.render.mrkdwn), with realistic answers, hostile input and a property test."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pyromark
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from slack_client.render.mrkdwn import (
    FENCE,
    LINK_URL_LIMIT,
    MESSAGE_PART_LIMIT,
    RULE,
    markdown_to_mrkdwn,
    split_message,
)
from slack_client.render.mrkdwn.render import _cap_nesting

ZWSP = "\u200b"
PRIVATE_USE = re.compile("[\ue000-\uf8ff]")

# --- Elements -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("markdown", "mrkdwn"),
    [
        ("**bold**, *italic*, _also_, ~~gone~~", "*bold*, _italic_, _also_, ~gone~"),
        ("run `make test` now", "run `make test` now"),
        ("```python\nprint(1)\n```", "```\nprint(1)\n```"),
        ("[a < b & c](https://x.org/?a=1&b=2)", "<https://x.org/?a=1&amp;b=2|a &lt; b &amp; c>"),
        ("<https://x.org/docs>", "<https://x.org/docs>"),
        ("# Title\n\ntext", "*Title*\n\ntext"),
        ("- a\n  - b\n    - c\n- d", "• a\n    • b\n        • c\n• d"),
        ("3. three\n4. four\n   1. sub", "3. three\n4. four\n    1. sub"),
        ("> quoted\n> more", "> quoted\n> more"),
        ("before\n\n---\n\nafter", f"before\n\n{RULE}\n\nafter"),
        ("![a chart](https://x.org/c.png)", "<https://x.org/c.png|a chart>"),
        ("[![build](https://x.org/b.svg)](https://ci.x.org)", "<https://ci.x.org|build>"),
        ("<b>hi</b> & <i>x</i>", "&lt;b&gt;hi&lt;/b&gt; &amp; &lt;i&gt;x&lt;/i&gt;"),
        ("<div>\n<p>block</p>\n</div>", "&lt;div&gt;\n&lt;p&gt;block&lt;/p&gt;\n&lt;/div&gt;"),
        ("a < b && c > d", "a &lt; b &amp;&amp; c &gt; d"),
        ("<@U123> <!channel>", "&lt;@U123&gt; &lt;!channel&gt;"),
        ("line one\nline two", "line one\nline two"),
    ],
    ids=[
        "emphasis",
        "inline-code",
        "fence-loses-language",
        "link-text-escaped",
        "autolink",
        "heading",
        "nested-bullets",
        "ordered-keeps-numbers",
        "quote",
        "rule",
        "image",
        "image-in-link",
        "inline-html",
        "html-block",
        "escaping",
        "no-mentions-from-text",
        "line-breaks-kept",
    ],
)
def test_elements(markdown: str, mrkdwn: str) -> None:
    assert markdown_to_mrkdwn(markdown) == mrkdwn


def test_table_becomes_aligned_code_block() -> None:
    table = (
        "| Name | Score | Note |\n"
        "|:-----|------:|:----:|\n"
        "| **Ann** | 9 | `ok` |\n"
        "| 李雷 | 10 | a & b |"
    )
    assert markdown_to_mrkdwn(table) == (
        "```\n| Name | Score | Note  |\n| Ann  |     9 |  ok   |\n| 李雷 |    10 | a &amp; b |\n```"
    )


def test_table_cells_show_links_as_text() -> None:
    table = "| Site |\n|---|\n| [docs](https://x.org/d) |"
    assert (
        markdown_to_mrkdwn(table)
        == "```\n| Site                   |\n| docs (https://x.org/d) |\n```"
    )


def test_one_line_fence_is_inline_code_and_leaves_prose_alone() -> None:
    markdown = "```npm install```\nthen **run** it\n\n- and *this*"
    assert markdown_to_mrkdwn(markdown) == "`npm install`\nthen *run* it\n• and _this_"


def test_inline_code_in_link_text() -> None:
    assert markdown_to_mrkdwn("[run `make`](https://x.org)") == "<https://x.org|run make>"


def test_backticks_in_a_url_are_encoded_so_no_line_reads_as_a_fence() -> None:
    assert markdown_to_mrkdwn("<https://x.org/a```b>") == "<https://x.org/a%60%60%60b>"


def test_links_keep_parentheses_in_urls() -> None:
    url = "https://en.wikipedia.org/wiki/Mercury_(planet)"
    assert markdown_to_mrkdwn(f"[Mercury]({url})") == f"<{url}|Mercury>"
    assert markdown_to_mrkdwn(f"See {url}.") == f"See {url}."


@pytest.mark.parametrize(
    "text",
    [
        "https://x.org/pkg/__init__.py",
        "see https://x.org/a_b_c and https://x.org/~me/*star*/ and www.x.org/__x__",
        "2**10",
        "snake_case_name",
        "2 * 3 * 4",
    ],
)
def test_no_emphasis_in_urls_or_arithmetic(text: str) -> None:
    assert markdown_to_mrkdwn(text) == text


def test_emphasis_around_a_url_still_works() -> None:
    assert markdown_to_mrkdwn("**see https://x.org/a_b**") == "*see https://x.org/a_b*"


def test_heading_holding_bold_is_bold_once() -> None:
    assert markdown_to_mrkdwn("## **Setup**") == "*Setup*"
    assert markdown_to_mrkdwn("## Using **uv** _fast_") == "*Using uv _fast_*"


def test_bold_italic_nests_markers() -> None:
    assert markdown_to_mrkdwn("***x***") == "*_x_*"
    assert markdown_to_mrkdwn("***a** b*") == "_*a* b_"


def test_emphasis_beside_cjk_gets_zero_width_spaces() -> None:
    assert markdown_to_mrkdwn("这是**重要**的") == f"这是{ZWSP}*重要*{ZWSP}的"
    assert markdown_to_mrkdwn("これは*大事*です。") == f"これは{ZWSP}_大事_{ZWSP}です。"
    assert markdown_to_mrkdwn("运行**脚本**。") == f"运行{ZWSP}*脚本*。"
    assert markdown_to_mrkdwn("a **b** c") == "a *b* c"


def test_cjk_punctuation_inside_bold_is_not_recognised_by_commonmark() -> None:
    # A closing `**` after 」 and before です is not right-flanking in CommonMark, and
    # pulldown-cmark has no CJK-friendly option, so the asterisks stay as text.
    assert markdown_to_mrkdwn("**「重要」**です") == "**「重要」**です"


def test_emphasis_is_closed_and_reopened_on_each_line() -> None:
    assert (
        markdown_to_mrkdwn("**bold  \nnext** and *it\nalso*") == "*bold*\n*next* and _it_\n_also_"
    )


def test_tilde_and_long_fences_keep_inner_backticks_inside() -> None:
    markdown = "~~~\n```\nx\n```\n~~~\n\n````md\n```py\nprint(1)\n```\n````"
    inner = f"`{ZWSP}``"
    assert markdown_to_mrkdwn(markdown) == (
        f"```\n{inner}\nx\n{inner}\n```\n\n```\n{inner}py\nprint(1)\n{inner}\n```"
    )


def test_code_is_never_rewritten() -> None:
    code = "x = a**b**c  # _not_ ~~emphasis~~ [x](y) <z> & `q`"
    assert markdown_to_mrkdwn(f"```\n{code}\n```") == (
        "```\nx = a**b**c  # _not_ ~~emphasis~~ [x](y) &lt;z&gt; &amp; `q`\n```"
    )


def test_backticks_in_prose_cannot_open_a_code_block() -> None:
    assert markdown_to_mrkdwn(r"three \`\`\` here") == f"three `{ZWSP}`` here"


def test_backtick_inside_inline_code() -> None:
    assert markdown_to_mrkdwn("``a`b``") == "`a\u02cbb`"


def test_very_long_url_is_not_a_link() -> None:
    url = "https://x.org/" + "a" * LINK_URL_LIMIT
    assert markdown_to_mrkdwn(f"Get [the file]({url}) now") == (
        "Get the file (link too long to show) now"
    )
    assert markdown_to_mrkdwn("[ok](https://x.org/a)") == "<https://x.org/a|ok>"


def test_links_slack_cannot_open_show_their_target() -> None:
    assert markdown_to_mrkdwn("[setup](/docs/setup.md)") == "setup (/docs/setup.md)"
    assert markdown_to_mrkdwn("<a@b.org>") == "<mailto:a@b.org|a@b.org>"
    assert markdown_to_mrkdwn("[x](<https://x.org/a b|c>)") == "<https://x.org/a%20b%7Cc|x>"


@pytest.mark.parametrize(
    "footer",
    [
        "_:paperclip: Not read:_\n• scan.pdf: it is password-protected\n• a&amp;b.txt: empty",
        "_:paperclip: Partly read:_\n• big_table_v2.xlsx: the first 1,000 of 5,000 rows",
        ":warning: _This answer was cut off because the bot is restarting. "
        "Ask again in a moment and I'll answer in full._",
        "_:information_source: This thread is getting long, so I'm leaving its oldest "
        "messages out of what I read. Start a new thread for a fresh context._",
    ],
)
def test_footers_made_by_the_bot_pass_unchanged(footer: str) -> None:
    answer = "Here you go."
    assert markdown_to_mrkdwn(f"{answer}\n\n{footer}") == f"{answer}\n\n{footer}"


# --- Realistic answers ------------------------------------------------------------------

VENV_ANSWER = r"""## Setting up a Python virtual environment

Here's how to create an isolated environment for your project:

1. **Create the environment**

   ```bash
   python3 -m venv .venv
   ```

2. **Activate it**
   - On macOS/Linux:
     ```bash
     source .venv/bin/activate
     ```
   - On Windows: `.venv\Scripts\activate`

3. **Install your dependencies**

   ```bash
   pip install -r requirements.txt
   ```

> **Note:** Add `.venv/` to your `.gitignore` so it isn't committed.

See the [official `venv` docs](https://docs.python.org/3/library/venv.html) for more options."""

VENV_MRKDWN = r"""*Setting up a Python virtual environment*

Here's how to create an isolated environment for your project:
1. *Create the environment*
```
python3 -m venv .venv
```
2. *Activate it*
    • On macOS/Linux:
```
source .venv/bin/activate
```
    • On Windows: `.venv\Scripts\activate`
3. *Install your dependencies*
```
pip install -r requirements.txt
```

> *Note:* Add `.venv/` to your `.gitignore` so it isn't committed.

See the <https://docs.python.org/3/library/venv.html|official venv docs> for more options."""

DATABASES_ANSWER = """### PostgreSQL vs. MySQL

| Feature | PostgreSQL | MySQL |
|:--------|:----------:|------:|
| **JSON support** | `jsonb` with indexes | `JSON` type |
| Replication | Logical & physical | Binary log |
| License | PostgreSQL (MIT-like) | GPL v2 |
| Max row size | 1.6 TB | 64 KB |

**When to choose PostgreSQL:**
- You need complex queries, CTEs or window functions
- You want *strict* standards compliance

**When to choose MySQL:**
- Simple read-heavy workloads
- Your team already knows it

---

*Bottom line:* both are solid; pick the one your team can operate."""

DATABASES_MRKDWN = f"""*PostgreSQL vs. MySQL*

```
| Feature      |      PostgreSQL       |      MySQL |
| JSON support |  jsonb with indexes   |  JSON type |
| Replication  |  Logical &amp; physical   | Binary log |
| License      | PostgreSQL (MIT-like) |     GPL v2 |
| Max row size |        1.6 TB         |      64 KB |
```

*When to choose PostgreSQL:*
• You need complex queries, CTEs or window functions
• You want _strict_ standards compliance

*When to choose MySQL:*
• Simple read-heavy workloads
• Your team already knows it

{RULE}

_Bottom line:_ both are solid; pick the one your team can operate."""

DEBUG_ANSWER = """The error `TypeError: 'NoneType' object is not subscriptable` means you \
indexed something that is `None`.

In your code, `get_user()` returns `None` when the user doesn't exist:

```python
def get_user(user_id):
    if user_id not in users:
        return None
    return users[user_id]

name = get_user(42)["name"]  # fails when 42 is missing
```

**Fix:** check the result first:

```python
user = get_user(42)
if user is not None:
    name = user["name"]
```

Things to check:
- Is `users` populated before the call?
  - If it's loaded from a file, make sure the path is right
  - If it comes from an API, check the response status (e.g. `resp.status_code == 200`)
- Are IDs `int`s or `str`s? `42 != "42"`

> Tip: type hints like `-> dict | None` make this visible to mypy."""

DEBUG_MRKDWN = f"""The error `TypeError: 'NoneType' object is not subscriptable` means you \
indexed something that is `None`.

In your code, `get_user()` returns `None` when the user doesn't exist:

```
def get_user(user_id):
    if user_id not in users:
        return None
    return users[user_id]

name = get_user(42)["name"]  # fails when 42 is missing
```

*Fix:* check the result first:

```
user = get_user(42)
if user is not None:
    name = user["name"]
```

Things to check:
• Is `users` populated before the call?
    • If it's loaded from a file, make sure the path is right
    • If it comes from an API, check the response status (e.g. `resp.status_code == 200`)
• Are IDs `int`{ZWSP}s or `str`{ZWSP}s? `42 != "42"`

> Tip: type hints like `-&gt; dict | None` make this visible to mypy."""

LINKS_ANSWER = """Mercury is the smallest planet in the Solar System. Its orbit takes \
**88 Earth days**.

Useful sources:
1. [Mercury (planet) on Wikipedia](https://en.wikipedia.org/wiki/Mercury_(planet))
2. NASA's overview: https://science.nasa.gov/mercury/facts/
3. The MESSENGER mission page: <https://messenger.jhuapl.edu/>

![Mercury as seen by MESSENGER](https://upload.wikimedia.org/mercury_true_color.jpg)

A day on Mercury lasts about 176 Earth days & its surface ranges from -173 °C to 427 °C."""

LINKS_MRKDWN = """Mercury is the smallest planet in the Solar System. Its orbit takes \
*88 Earth days*.

Useful sources:
1. <https://en.wikipedia.org/wiki/Mercury_(planet)|Mercury (planet) on Wikipedia>
2. NASA's overview: https://science.nasa.gov/mercury/facts/
3. The MESSENGER mission page: <https://messenger.jhuapl.edu/>

<https://upload.wikimedia.org/mercury_true_color.jpg|Mercury as seen by MESSENGER>

A day on Mercury lasts about 176 Earth days &amp; its surface ranges from -173 °C to 427 °C."""

CHINESE_ANSWER = """## 部署步骤

这是**重要**的：请先备份数据库。

1. 停止服务：`systemctl stop app`
2. 更新代码，然后运行**迁移脚本**。
3. 重新启动服务。"""  # noqa: RUF001

CHINESE_MRKDWN = f"""*部署步骤*

这是{ZWSP}*重要*{ZWSP}的：请先备份数据库。
1. 停止服务：`systemctl stop app`
2. 更新代码，然后运行{ZWSP}*迁移脚本*。
3. 重新启动服务。"""  # noqa: RUF001

GIT_ANSWER = """# Git rebase workflow

## **Step 1: Update main**

```sh
git checkout main && git pull
```

## **Step 2: Rebase your branch**

***Important:*** never rebase a branch others have pulled.

3. Resolve conflicts, then run `git rebase --continue`
4. ~~Force push~~ Use `git push --force-with-lease` instead

That's it — your history is now linear."""

GIT_MRKDWN = """*Git rebase workflow*

*Step 1: Update main*

```
git checkout main &amp;&amp; git pull
```

*Step 2: Rebase your branch*

*_Important:_* never rebase a branch others have pulled.
3. Resolve conflicts, then run `git rebase --continue`
4. ~Force push~ Use `git push --force-with-lease` instead

That's it — your history is now linear."""

FENCES_ANSWER = """To show a code block inside Markdown, use a longer fence:

````markdown
Here is Python:

```python
print("hi")
```
````

Or use tildes:

~~~
```js
console.log(1 < 2 && 3 > 2);
```
~~~

A one-liner like ```npm install left-pad``` also works inline."""

FENCES_MRKDWN = f"""To show a code block inside Markdown, use a longer fence:

```
Here is Python:

`{ZWSP}``python
print("hi")
`{ZWSP}``
```

Or use tildes:

```
`{ZWSP}``js
console.log(1 &lt; 2 &amp;&amp; 3 &gt; 2);
`{ZWSP}``
```

A one-liner like `npm install left-pad` also works inline."""


@pytest.mark.parametrize(
    ("markdown", "mrkdwn"),
    [
        (VENV_ANSWER, VENV_MRKDWN),
        (DATABASES_ANSWER, DATABASES_MRKDWN),
        (DEBUG_ANSWER, DEBUG_MRKDWN),
        (LINKS_ANSWER, LINKS_MRKDWN),
        (CHINESE_ANSWER, CHINESE_MRKDWN),
        (GIT_ANSWER, GIT_MRKDWN),
        (FENCES_ANSWER, FENCES_MRKDWN),
    ],
    ids=["venv", "databases", "debug", "links", "chinese", "git", "fences"],
)
def test_realistic_answers(markdown: str, mrkdwn: str) -> None:
    assert markdown_to_mrkdwn(markdown) == mrkdwn


# --- Splitting --------------------------------------------------------------------------


def code_blocks(part: str) -> Iterator[list[str]]:
    """The lines inside each fenced block of a part."""
    block: list[str] | None = None
    for line in part.split("\n"):
        if line == FENCE:
            if block is not None:
                yield block
            block = [] if block is None else None
        elif block is not None:
            block.append(line)


def assert_renders_alone(parts: list[str], limit: int) -> None:
    """Each part fits, has balanced fences, and shows something."""
    for part in parts:
        assert len(part) <= limit
        lines = part.split("\n")
        fences = [line for line in lines if line == FENCE]
        assert len(fences) % 2 == 0
        assert part.count(FENCE) == len(fences), "``` only on fence lines"
        assert part.replace(FENCE, "").strip(), "a part that is empty or only a fence"
        assert all("".join(block).strip() for block in code_blocks(part)), "an empty block"


def test_split_never_leaves_an_empty_fence() -> None:
    for filler in range(880, 1_000, 7):
        text = "x" * filler + "\n```\n" + "\n".join(["code"] * 50) + "\n```\nend"
        parts = split_message(text, limit=1_000)
        assert_renders_alone(parts, 1_000)
        assert sum(part.count("code") for part in parts) == 50


def test_split_drops_whitespace_only_parts() -> None:
    text = "a\n" + "\n" * 5_000 + "   \n" * 500 + "b"
    assert split_message(text, limit=1_000) == ["a", "b"]


def test_split_cuts_long_lines_at_whitespace() -> None:
    words = " ".join(f"word{i}" for i in range(2_000))
    parts = split_message(words, limit=1_000)
    assert_renders_alone(parts, 1_000)
    assert all(part.endswith(" ") or part == parts[-1] for part in parts)
    assert "".join(parts) == words


def test_split_never_cuts_a_link_or_an_entity() -> None:
    link = "<https://x.org/a|a b &amp; c>"
    for pad in range(0, 60, 3):
        line = "y" * pad + (link + "&lt;&amp;") * 300
        parts = split_message(line, limit=500)
        assert_renders_alone(parts, 500)
        assert "".join(parts) == line
        for part in parts:
            assert part.count("<") == part.count(">")
            assert re.fullmatch(r"y*(?:<[^<>]*>|&\w+;|[^&<>])*", part)


def test_split_keeps_code_fences_balanced_with_the_converter() -> None:
    code = "\n".join(f"line_{i} = compute({i}) & mask  # `tick`" for i in range(400))
    text = markdown_to_mrkdwn(f"Intro.\n\n```python\n{code}\n```\n\nOutro.")
    parts = split_message(text, limit=1_000)
    assert_renders_alone(parts, 1_000)
    assert parts[0].startswith("Intro.")
    assert parts[-1].endswith("Outro.")
    shown = [line for part in parts for block in code_blocks(part) for line in block]
    assert shown == text.split("\n")[3:-3]


# --- Hostile input ---------------------------------------------------------------------

HOSTILE = {
    "brackets": "[" * 16_000,
    "unclosed-bold": "**a " * 4_000,
    "mixed-delimiters": "*a_ " * 10_000,
    "code-spans": "`a`` " * 10_000,
    "link-url-of-brackets": "see [text](https://example.com/" + "[" * 39_000 + ")",
    "comments": "<!--x" * 20_000,
    # One huge cell over thousands of short rows: padding each row to it is quadratic.
    "wide-cell-table": "| a |\n|---|\n| " + "w" * 20_000 + " |\n" + "| b |\n" * 4_000,
    "nested-lists": "- " * 10_000 + "x",
    "nested-quotes": "> " * 10_000 + "x",
    "nested-lists-lazy-lines": "- " * 10_000 + "x\n" + "y\n" * 5_000,
    "nested-quotes-lazy-lines": ">" * 10_000 + "x\n" + "y\n" * 5_000,
    "table-padding": "|a" * 500 + "\n" + "|-" * 500 + "\n" + "a\n" * 5_000,
    "blank-delimiter-row": " " * 20_000 + "|" + "\n" + "|-" + " " * 20_000 + "x",
}


@pytest.mark.parametrize("name", HOSTILE)
def test_hostile_input_stays_in_shape(name: str) -> None:
    markdown = HOSTILE[name]
    mrkdwn = markdown_to_mrkdwn(markdown)
    parts = split_message(mrkdwn)
    assert_renders_alone(parts, MESSAGE_PART_LIMIT)
    assert len(mrkdwn) <= 10 * len(markdown)


def test_hostile_input_reads_as_written() -> None:
    for name in ("brackets", "unclosed-bold", "mixed-delimiters"):
        assert markdown_to_mrkdwn(HOSTILE[name]) == HOSTILE[name].strip()
    assert markdown_to_mrkdwn(HOSTILE["link-url-of-brackets"]) == (
        "see text (link too long to show)"
    )
    assert markdown_to_mrkdwn(HOSTILE["comments"]) == "&lt;!--x" * 20_000
    lists = markdown_to_mrkdwn(HOSTILE["nested-lists"])
    assert lists.startswith("• " * 16) and lists.endswith("- - x")
    assert markdown_to_mrkdwn(HOSTILE["nested-quotes"]).startswith("> ")


def test_deep_nesting_is_indented_only_so_far() -> None:
    markdown = "".join(f"{'  ' * depth}- level {depth}\n" for depth in range(30))
    lines = markdown_to_mrkdwn(markdown).split("\n")
    assert lines[2] == "        • level 2"
    assert lines[29] == "    " * 8 + "• level 29"


# --- Property test ---------------------------------------------------------------------

_TOKENS = [
    *"*_~[]()<>&`#|-!: \n\n",
    "a",
    "Zz9",
    "重要",
    "です",
    "**",
    "__",
    "~~",
    "```",
    "~~~",
    "````",
    "- ",
    "1. ",
    "> ",
    "    ",
    "| --- |",
    "|:-:|",
    "&amp;",
    "&#65;",
    "https://x.org/a_b*c~d(e)",
    "www.x.org/__init__.py",
    "<https://x.org>",
    "[a](https://b.c/(d))",
    "![i](http://e.f/g.png)",
    "<b>",
    "<!--",
    "\ue000",
]
_RUNS = st.builds(
    lambda char, count: char * count,
    st.sampled_from([*"*_`[<>&-|#~ \n", "- ", "> ", "a"]),
    st.integers(min_value=1, max_value=300),
)
MARKDOWNISH = st.lists(st.one_of(st.sampled_from(_TOKENS), _RUNS), max_size=80).map("".join)


def alphanumerics(text: str) -> str:
    return "".join(char for char in text if char.isalnum())


def parsed_text(markdown: str) -> str:
    """The text CommonMark sees in `markdown`: what the reader must still see.

    Container markers past MAX_NESTING on a line are text to the converter (a bound on
    pulldown-cmark's work), so they are made text here too.
    """
    markdown = _cap_nesting(markdown)
    options = pyromark.Options.ENABLE_TABLES | pyromark.Options.ENABLE_STRIKETHROUGH
    pieces = []
    for event in pyromark.events(markdown, options=options):
        if isinstance(event, dict):
            for kind, value in event.items():
                if kind in ("Text", "Code", "Html", "InlineHtml"):
                    pieces.append(str(value))
    return "".join(pieces)


def is_subsequence(needle: str, haystack: str) -> bool:
    remaining = iter(haystack)
    return all(char in remaining for char in needle)


@settings(max_examples=1_200, deadline=None)
@given(markdown=MARKDOWNISH, limit=st.sampled_from([60, 250, 1_000, MESSAGE_PART_LIMIT]))
def test_any_markdown_converts_and_splits_into_renderable_parts(markdown: str, limit: int) -> None:
    """Invariants over generated Markdown.

    Text is compared on its letters and digits, in order: the converter adds markers,
    escapes, link targets and zero-width spaces, and drops what CommonMark doesn't show
    (link destinations, info strings, reference definitions, entity names), so the letters
    and digits of the parser's own text must all appear in the output, in order.
    Splitting only drops whitespace and fences, so it keeps them exactly.
    """
    mrkdwn = markdown_to_mrkdwn(markdown)
    parts = split_message(mrkdwn, limit)
    assert_renders_alone(parts, limit)
    assert all(line == FENCE or FENCE not in line for line in mrkdwn.split("\n"))
    if not PRIVATE_USE.search(markdown):
        assert not PRIVATE_USE.search(mrkdwn)
    assert is_subsequence(alphanumerics(parsed_text(markdown)), alphanumerics(mrkdwn))
    assert alphanumerics("".join(parts)) == alphanumerics(mrkdwn)
