"""User-given text (file names, team names, error messages quoting them) shown in elements
that render Markdown: escaped, so `**x**`, links, images, `:red[...]` and HTML show as typed."""

from __future__ import annotations

import re

# CommonMark lets any ASCII punctuation be escaped; these are the ones Streamlit's Markdown
# (plus its `:emoji:` / `:color[...]` directives and `$math$`) gives a meaning.
_MARKUP = re.compile(r"([\\`*_{}\[\]()<>#+\-.!|~:$&])")


def plain_text(text: object) -> str:
    """`text` as a Markdown string that displays exactly the original characters."""
    return _MARKUP.sub(r"\\\1", str(text)).replace("\n", "  \n")
