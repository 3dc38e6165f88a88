"""The words of messages: advice names the option of the interface in use.

A message that tells the user to ``pass id_column=False`` must also say ``--new-ids``:
the same message reaches Python users and the command line (``cli._guarded`` prints it).
These tests read the message strings of ``src/asm_pace`` with :mod:`ast` (every string of
one statement: a ``raise``, a ``warnings.warn`` call, a message built in a helper) and check:

1. every Python keyword given as advice (``layer=``, ``crs=``, ``statuses=None``...) comes
   with its command-line option in the same statement, in the form ``lat='x' (--lat x on the
   command line)``; a keyword the command line has no option for must say so ("in Python",
   "the command line has no ...");
2. every ``--option`` a message names exists in the ``asm-pace`` command;
3. every layer choice the API offers (sites, protected areas, ecoregions, landscapes) has a
   command-line option.
"""

from __future__ import annotations

import ast
import functools
import inspect
import re
from pathlib import Path

import pytest

import asm_pace
from asm_pace.cli import cli

SRC = Path(asm_pace.__file__).parent

#: Python keyword -> the command-line options that do the same (any one may be named).
OPTIONS = {
    "lon": ("--lon",),
    "lat": ("--lat",),
    "id_column": ("--id-column", "--new-ids"),
    "crs": ("--sites-crs",),
    "layer": (
        "--sites-layer",
        "--pa-layer",
        "--ecoregions-layer",
        "--landscapes-layer",
        "--kba-layer",
        "--rivers-layer",
    ),
    "kbas": ("--kbas",),
    "countries": ("--countries",),
    "statuses": ("--all-statuses", "--kba-all-statuses"),
    "points": ("--pa-points",),
    "radii_km": ("--buffers",),
    "rings": ("--rings",),
    "canopy": ("--canopy",),
    "gain": ("--gain",),
    "drivers": ("--drivers",),
    "rivers": ("--rivers",),
    "max_km": ("--downstream-km",),
    "snap_km": ("--snap-km",),
    "jobs": ("--jobs",),
    "memory": ("--memory",),
    "scheduler": ("--scheduler",),
    "overwrite": ("--overwrite",),
    "source_label": ("--pa-source-name",),
    "treecover": ("--treecover",),
    "cache_dir": ("--data-dir",),
    "base_url": ("--base-url",),
    "lossyear": ("--lossyear",),
    "uncertainty_m": ("--uncertainty",),
    "exclude_mab": ("--keep-biosphere-reserves",),
    "exclude_oecm": ("--keep-oecms",),
    "exclude_marine": ("--exclude-marine",),
}
#: Python keywords without a command-line option; advice naming them must say so.
PYTHON_ONLY = {
    "bbox",
    "name_column",
    "engine",
    "coverage",
    "categorical",
    "stats",
    "n_vertices",
    "dissolve",
    "same_share",
    "footprint_zone",
    "next_column",
    "length_column",
    "discharge_column",
    "paths",
    "threads",
}
#: Keywords of functions the command line never calls: their advice is for Python users only.
NOT_REACHED = {"offline": "explore_sites, the interactive map for notebooks"}
#: Options of other programs that messages quote (gdal_calc.py).
FOREIGN = {"--calc", "--outfile"}
#: The words that say a keyword is for Python only.
SAYS_PYTHON = ("in python", "a python option", "command line has no", "no command-line option")

# keyword= as advice: not part of a longer name or option (--calc=), not an echoed value
# (crs={}), not a comparison (==) nor an XML or HTML attribute (path="")
_KEYWORD = re.compile(r"(?<![\w.-])([a-z][a-z0-9_]*)=(?![={\"])")
_OPTION = re.compile(r"(?<![\w-])--[a-z][a-z0-9-]*")


def _docstrings(tree: ast.AST) -> set[int]:
    out = set()
    for node in ast.walk(tree):
        body = getattr(node, "body", None)
        if (
            isinstance(body, list)
            and body
            and isinstance(body[0], ast.Expr)
            and isinstance(body[0].value, ast.Constant)
            and isinstance(body[0].value.value, str)
        ):
            out.add(id(body[0].value))
    return out


def _text(node: ast.AST) -> str:
    """A string node's text; formatted values as ``{}``."""
    if isinstance(node, ast.JoinedStr):
        return "".join(v.value if isinstance(v, ast.Constant) else "{}" for v in node.values)
    return node.value  # type: ignore[attr-defined]


def messages() -> tuple[tuple[str, int, str], ...]:
    """(file, line, text) of every simple statement of src/ holding strings, docstrings aside."""
    return tuple((file, line, text) for file, line, text, _ in statements())


@functools.cache
def statements() -> tuple[tuple[str, int, str, ast.stmt], ...]:
    """(file, line, text, statement) of every simple statement of src/ holding strings.

    The text of a statement is all its strings joined: a message built from several
    f-strings (``"..." + "; ".join(...) + "..."``) is judged as a whole.
    """
    found = []
    for path in sorted(SRC.glob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        docs = _docstrings(tree)
        for stmt in ast.walk(tree):
            if not isinstance(stmt, ast.stmt) or hasattr(stmt, "body"):
                continue  # compound statements: their simple statements are judged
            parts = []
            inner = set(docs)  # an f-string's literal parts are in its own text
            for node in ast.walk(stmt):
                if isinstance(node, ast.JoinedStr):
                    inner.update(id(v) for v in node.values)
                if id(node) in inner:
                    continue
                if isinstance(node, ast.JoinedStr) or (
                    isinstance(node, ast.Constant) and isinstance(node.value, str)
                ):
                    parts.append(_text(node))
            if parts:
                found.append((path.name, stmt.lineno, " ".join(parts), stmt))
    return tuple(found)


def cli_options() -> set[str]:
    names = set()
    commands = list(cli.commands.values())
    while commands:  # the commands of groups too (asm-pace fetch hansen)
        command = commands.pop()
        commands.extend(getattr(command, "commands", {}).values())
        for param in command.params:
            names.update(o for o in param.opts if o.startswith("--"))
    return names


@functools.cache
def api_keywords() -> frozenset[str]:
    """The parameters of the public functions of asm_pace."""
    params: set[str] = set()
    for name in asm_pace.__all__:
        obj = getattr(asm_pace, name)
        if inspect.isfunction(obj):
            params |= set(inspect.signature(obj).parameters)
    return frozenset(params)


def advice(text: str) -> set[str]:
    """The API keywords a text names as ``keyword=`` (a value echoed, ``crs={}``, aside)."""
    known = api_keywords() | set(OPTIONS) | PYTHON_ONLY
    return {k for k in _KEYWORD.findall(text) if k in known and k not in NOT_REACHED}


def judge(text: str) -> list[str]:
    """What is wrong with one message's words (empty: nothing)."""
    wrong = []
    folded = text.casefold()
    for key in sorted(advice(text)):
        if key not in OPTIONS and key not in PYTHON_ONLY:
            wrong.append(f"{key}= is in no table of tests/test_words.py: add its option")
        elif key in OPTIONS:
            if not any(o in text for o in OPTIONS[key]):
                wrong.append(f"{key}= without {' or '.join(OPTIONS[key])}")
        elif not any(w in folded for w in SAYS_PYTHON) and f"({key}=" not in text:
            wrong.append(f"{key}= (no command-line option) without saying it is for Python")
    return wrong


def test_the_tables_match_the_api_and_the_command_line():
    options = cli_options()
    for key, opts in OPTIONS.items():
        assert set(opts) <= options, (key, set(opts) - options)
    for key in PYTHON_ONLY:  # once an option exists, messages must name it
        assert f"--{key.replace('_', '-')}" not in options, key
    assert (set(OPTIONS) | PYTHON_ONLY | set(NOT_REACHED)) <= api_keywords()


@pytest.mark.parametrize(
    ("text", "wrong"),
    [
        ("give every site its own id, or pass id_column=False", ["id_column= without"]),
        ("pass id_column=False (--new-ids on the command line)", []),
        ("Pass layer= to say which one", ["layer= without"]),
        ("choose one with layer= (--ecoregions-layer)", []),
        ("pass exclude_mab=False to keep them", ["exclude_mab= without"]),
        ("pass exclude_mab=False (--keep-biosphere-reserves on the command line)", []),
        ("pass engine='fiona' to read it", ["engine= (no command-line option)"]),
        ("pass engine='fiona' in Python (the command line has no option for it)", []),
        ("crs={} (--sites-crs) is not a CRS", []),
        ("by={} is not a column", []),  # an echoed value, not advice
        ("read_protected_areas(bbox=...) sets it", []),  # Python by its form
    ],
)
def test_the_judge_itself(text, wrong):
    got = judge(text)
    assert len(got) == len(wrong) and all(
        g.startswith(w) for g, w in zip(got, wrong, strict=True)
    ), got


def test_every_message_names_the_command_line_option():
    wrong = [
        f"{file}:{line}: {problem}: {text[:160]!r}"
        for file, line, text in messages()
        for problem in judge(text)
    ]
    assert not wrong, "\n".join(wrong)


def test_every_option_a_message_names_exists():
    known = cli_options() | FOREIGN
    unknown = [
        f"{file}:{line}: {opt}"
        for file, line, text in messages()
        for opt in _OPTION.findall(text)
        if opt not in known
    ]
    assert not unknown, "\n".join(unknown)


#: Modules that speak for the command line only (its options are the interface in use).
CLI_ONLY = {"cli.py", "pipeline.py"}


def is_message(stmt: ast.stmt) -> bool:
    """A raise, a returned text or a ``warnings.warn(...)`` call: words a user reads."""
    if isinstance(stmt, (ast.Raise, ast.Return)):
        return True
    call = getattr(stmt, "value", None)
    return isinstance(call, ast.Call) and getattr(call.func, "attr", "") == "warn"


def test_library_messages_name_the_python_keyword_beside_the_option():
    """The other way round: a library message naming --lat says lat= too (Python users)."""
    keys = {o: k for k, opts in OPTIONS.items() for o in opts}
    keys["--new-ids"] = "id_column"
    wrong = [
        f"{file}:{line}: {opt} without {keys[opt]}=: {text[:160]!r}"
        for file, line, text, stmt in statements()
        if file not in CLI_ONLY and is_message(stmt)
        for opt in sorted(set(_OPTION.findall(text)))
        if opt in keys and f"{keys[opt]}=" not in text
    ]
    assert not wrong, "\n".join(wrong)


def test_every_layer_choice_has_a_command_line_option():
    readers = {
        "read_sites": "--sites-layer",
        "read_protected_areas": "--pa-layer",
        "read_ecoregions": "--ecoregions-layer",
        "read_priority_landscapes": "--landscapes-layer",
        "read_kbas": "--kba-layer",
        "read_rivers": "--rivers-layer",
    }
    options = cli_options()
    for reader, option in readers.items():
        assert "layer" in inspect.signature(getattr(asm_pace, reader)).parameters, reader
        assert option in options, (reader, option)
