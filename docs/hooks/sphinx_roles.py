"""mkdocs hook: render the Sphinx roles of the docstrings (``:func:`read_sites```).

The docstrings use Sphinx cross-reference roles (``:func:``, ``:class:``,
``:data:``, ``:meth:``, ``:mod:``...), which mkdocstrings' numpy parser leaves
as text, so the API page showed ``:func:read_sites``. This hook turns each role
into inline code, linked to the object's heading when the page has one
(``~a.b.c`` shows ``c``, as in Sphinx).
"""

from __future__ import annotations

import re

_ROLE = re.compile(r":(?:py:)?(?:func|class|data|meth|mod|attr|exc|obj|const):<code>([^<]+)</code>")
_ID = re.compile(r'id="(asm_pace(?:\.[A-Za-z_][A-Za-z0-9_]*)+)"')


def _resolve(target: str, ids: set[str]) -> str | None:
    if target in ids:
        return target
    name = target.split(".")[-1]
    # asm_pace.read_sites -> asm_pace.sites.read_sites; read_sites -> asm_pace.<module>.read_sites
    matches = sorted(i for i in ids if i.endswith("." + name))
    if len(matches) == 1:
        return matches[0]
    qualified = [i for i in matches if i.endswith(target)]
    return qualified[0] if len(qualified) == 1 else None


def on_page_content(html: str, **kwargs: object) -> str:
    ids = set(_ID.findall(html))

    def replace(match: re.Match[str]) -> str:
        text = match.group(1).strip()
        short = text.startswith("~")
        target = text.lstrip("~").removesuffix("()")
        shown = target.split(".")[-1] if short else target
        if text.endswith("()") and not shown.endswith("()"):
            shown += "()"
        anchor = _resolve(target, ids)
        code = f"<code>{shown}</code>"
        return f'<a href="#{anchor}">{code}</a>' if anchor else code

    return _ROLE.sub(replace, html)
