"""The documentation stays true: README.md is short, its Python snippets run as written,
every shell command in README.md and docs/*.md names a module or script and flags that
exist, and every relative link points at a file (and heading) that exists.

A failure names the document, the line and what is wrong, e.g.
``docs/dream.md:52: python -m baselines.dream.train has no flag --explore-peng``.
"""

from __future__ import annotations

import functools
import json
import os
import re
import shlex
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
README = REPO / "README.md"
DOCS_DIR = REPO / "docs"
DOC_FILES = [README, *sorted(DOCS_DIR.glob("*.md"))]
MAX_README_LINES = 200
SHELL_LANGUAGES = {"bash", "sh", "shell"}
SNIPPET_TIMEOUT_S = 120
HELP_TIMEOUT_S = 300  # every command line's --help, together

FENCE = re.compile(r"^\s*(`{3,}|~{3,})\s*([\w+-]*)")
FLAG = re.compile(r"(?<![\w-])--[A-Za-z0-9][\w-]*")
CODE_SPAN = re.compile(r"(?<!`)(`+)(?!`)(.+?)(?<!`)\1(?!`)", re.DOTALL)
LINK = re.compile(r"!?\[[^\]]*\]\(([^)\s]+)\)")
PYTHON_EXECUTABLE = re.compile(r"^(.*/)?python(3(\.\d+)?)?$")
ENV_ASSIGNMENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*=")


def rel(path: Path) -> str:
    return path.relative_to(REPO).as_posix()


@dataclass(frozen=True)
class Block:
    """A fenced code block: ``line`` is the 1-based line of its first content line."""

    path: Path
    line: int
    language: str
    text: str


def split_markdown(path: Path) -> tuple[list[Block], list[tuple[int, str]]]:
    """The fenced blocks of ``path`` and the lines outside them, as (1-based line, text)."""
    blocks, prose = [], []
    fence, language, start, body = None, "", 0, []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if fence is None:
            match = FENCE.match(line)
            if match:
                fence, language, start, body = match.group(1), match.group(2).lower(), number + 1, []
            else:
                prose.append((number, line))
        elif line.strip().startswith(fence[0] * len(fence)) and not line.strip().strip(fence[0]):
            blocks.append(Block(path, start, language, "\n".join(body)))
            fence = None
        else:
            body.append(line)
    assert fence is None, f"{rel(path)}:{start - 1}: code fence never closed"
    return blocks, prose


def paragraphs(prose: list[tuple[int, str]]) -> list[tuple[int, str]]:
    """Lines outside code blocks grouped into paragraphs (code spans never cross one)."""
    out, start, lines, previous = [], 0, [], None
    for number, line in prose + [(None, "")]:
        if not line.strip() or (previous is not None and number != previous + 1):
            if lines:
                out.append((start, "\n".join(lines)))
            lines = []
        if line.strip():
            if not lines:
                start = number
            lines.append(line)
        previous = number
    return out


def code_spans(prose: list[tuple[int, str]]) -> list[tuple[int, str]]:
    """Inline code spans outside fenced blocks, as (line where the span starts, content)."""
    spans = []
    for start, text in paragraphs(prose):
        for match in CODE_SPAN.finditer(text):
            line = start + text.count("\n", 0, match.start())
            spans.append((line, " ".join(match.group(2).split())))
    return spans


@dataclass(frozen=True)
class Command:
    """One simple command of a doc: ``python -m MODULE``, ``python SCRIPT`` or ``make``."""

    path: Path
    line: int
    kind: str  # "module", "script" or "make"
    target: str  # the module, the script's path or the make targets (space-separated)
    flags: tuple[str, ...]
    text: str

    @property
    def where(self) -> str:
        return f"{rel(self.path)}:{self.line}"


def shell_lines(block: Block) -> list[tuple[int, str]]:
    """The logical lines of a shell block (backslash continuations joined), with line numbers."""
    lines, pending, start = [], "", 0
    for offset, line in enumerate(block.text.splitlines()):
        if not pending:
            start = block.line + offset
        if line.rstrip().endswith("\\"):
            pending += line.rstrip()[:-1] + " "
            continue
        lines.append((start, pending + line))
        pending = ""
    if pending:
        lines.append((start, pending))
    return lines


def simple_commands(line: str) -> list[list[str]]:
    """``line`` split into simple commands at ``&&``, ``||``, ``;`` and ``|``, comments removed."""
    lexer = shlex.shlex(line, posix=True, punctuation_chars=True)
    lexer.whitespace_split = True
    lexer.commenters = "#"
    commands, current = [], []
    for token in lexer:
        if token and set(token) <= set("&|;()"):
            commands.append(current)
            current = []
        else:
            current.append(token)
    commands.append(current)
    return [command for command in commands if command]


def flags_of(arguments: list[str]) -> tuple[str, ...]:
    """The ``--flag`` names among ``arguments`` (``--flag=value`` gives ``--flag``)."""
    return tuple(argument.split("=")[0] for argument in arguments if FLAG.fullmatch(argument.split("=")[0]))


def parse_command(tokens: list[str], path: Path, line: int, text: str) -> Command | None:
    """The command to check in ``tokens``, or None (pip, other programs, ``python -c``)."""
    while tokens and ENV_ASSIGNMENT.match(tokens[0]):
        tokens = tokens[1:]
    if not tokens:
        return None
    if tokens[0] == "make":
        targets = [t for t in tokens[1:] if not t.startswith("-") and "=" not in t]
        return Command(path, line, "make", " ".join(targets), (), text)
    if not PYTHON_EXECUTABLE.match(tokens[0]) or len(tokens) < 2:
        return None
    if tokens[1] == "-m" and len(tokens) > 2:
        if tokens[2] == "pip":
            return None
        return Command(path, line, "module", tokens[2], flags_of(tokens[3:]), text)
    if tokens[1].endswith(".py"):
        return Command(path, line, "script", tokens[1], flags_of(tokens[2:]), text)
    return None


def doc_commands() -> list[Command]:
    """Every command of README.md and docs/*.md: in bash/sh/shell blocks, and inline code
    spans that start with ``python -m`` or ``python SCRIPT.py``."""
    commands = []
    for path in DOC_FILES:
        blocks, prose = split_markdown(path)
        for block in blocks:
            if block.language not in SHELL_LANGUAGES:
                continue
            for line, text in shell_lines(block):
                for tokens in simple_commands(text):
                    command = parse_command(tokens, path, line, text.strip())
                    if command is not None:
                        commands.append(command)
        for line, span in code_spans(prose):
            if re.match(r"python3? (-m \S|\S+\.py\b)", span):
                # Synopses write optional flags as ``[--flag VALUE]``: the brackets are dropped.
                tokens = span.replace("[", " ").replace("]", " ").split()
                command = parse_command(tokens, path, line, span)
                if command is not None:
                    commands.append(command)
    return commands


def normalise(flag: str) -> str:
    return flag.replace("_", "-")


@functools.cache
def all_cli_help() -> dict[tuple[str, str], tuple[int, str]]:
    """(exit status, output) of ``python -m MODULE --help`` or ``python SCRIPT --help`` for every
    command line the docs name, from one driver process (tests/cli_help_driver.py: a forked
    child per command line, the heavy imports shared)."""
    commands = sorted({(c.kind, c.target) for c in COMMANDS if c.kind != "make"})
    env = {**os.environ, "COLUMNS": "200", "SDL_VIDEODRIVER": "dummy", "SDL_AUDIODRIVER": "dummy"}
    done = subprocess.run([sys.executable, str(REPO / "tests" / "cli_help_driver.py"), json.dumps(commands)],
                          cwd=REPO, env=env, capture_output=True, text=True, timeout=HELP_TIMEOUT_S)
    assert done.returncode == 0, f"tests/cli_help_driver.py failed:\n{done.stderr[-2000:]}"
    return {command: (status, output) for command, (status, output) in zip(commands, json.loads(done.stdout))}


def cli_help(kind: str, target: str) -> tuple[int, str]:
    return all_cli_help()[(kind, target)]


@functools.cache
def make_targets() -> frozenset[str]:
    text = (REPO / "Makefile").read_text(encoding="utf-8")
    targets = re.findall(r"^([A-Za-z0-9_-][A-Za-z0-9_.-]*)\s*:(?!=)", text, re.MULTILINE)
    return frozenset(targets)


COMMANDS = doc_commands()


def test_readme_is_short_and_names_the_two_commands():
    text = README.read_text(encoding="utf-8")
    lines = len(text.splitlines())
    assert lines <= MAX_README_LINES, f"README.md has {lines} lines, at most {MAX_README_LINES}: move detail to docs/"
    for command in ("make demo", "make test"):
        assert command in text, f"README.md does not mention `{command}`"


def test_docs_have_commands_to_check():
    """The extraction finds the commands (a parser bug must not pass every doc vacuously)."""
    modules = {command.target for command in COMMANDS if command.kind == "module"}
    assert {"evaluation.score", "baselines.dream.train"} <= modules, sorted(modules)
    assert any(c.path == README and c.kind == "make" for c in COMMANDS)


@pytest.mark.parametrize("command", COMMANDS, ids=[f"{c.where}:{c.target}" for c in COMMANDS])
def test_doc_command_names_existing_module_and_flags(command: Command):
    if command.kind == "make":
        unknown = [t for t in command.target.split() if t not in make_targets()]
        assert not unknown, (f"{command.where}: `{command.text}`: no Makefile target {unknown}; "
                             f"targets: {sorted(make_targets())}")
        return
    shown = f"python -m {command.target}" if command.kind == "module" else f"python {command.target}"
    if command.kind == "script":
        assert (REPO / command.target).is_file(), f"{command.where}: `{command.text}`: no script {command.target}"
    status, output = cli_help(command.kind, command.target)
    assert status == 0, (f"{command.where}: `{command.text}`: `{shown} --help` exited with {status}:\n"
                         + "\n".join(output.strip().splitlines()[-5:]))
    known = {normalise(flag) for flag in FLAG.findall(output)}
    for flag in command.flags:
        assert normalise(flag) in known, f"{command.where}: {shown} has no flag {flag} (`{command.text}`)"


README_SNIPPETS = [block for block in split_markdown(README)[0] if block.language == "python"]


def test_readme_has_a_python_snippet():
    assert README_SNIPPETS, "README.md has no ```python quick start"


@pytest.mark.parametrize("snippet", README_SNIPPETS, ids=[f"README.md:{b.line}" for b in README_SNIPPETS])
def test_readme_python_snippet_runs(snippet: Block, tmp_path: Path):
    """Each ```python block of README.md runs as written, alone, from another directory."""
    script = tmp_path / "snippet.py"
    script.write_text(snippet.text + "\n", encoding="utf-8")
    env = {**os.environ, "SDL_VIDEODRIVER": "dummy", "SDL_AUDIODRIVER": "dummy", "MPLBACKEND": "Agg"}
    env["PYTHONPATH"] = os.pathsep.join(p for p in (env.get("PYTHONPATH"), str(REPO)) if p)
    done = subprocess.run([sys.executable, str(script)], cwd=tmp_path, env=env, capture_output=True,
                          text=True, timeout=SNIPPET_TIMEOUT_S)
    assert done.returncode == 0, (f"README.md:{snippet.line}: the python snippet failed "
                                  f"(exit {done.returncode}):\n{done.stderr[-3000:]}")


DOC_PYTHON = [block for path in DOC_FILES[1:] for block in split_markdown(path)[0] if block.language == "python"]


@pytest.mark.parametrize("snippet", DOC_PYTHON, ids=[f"{rel(b.path)}:{b.line}" for b in DOC_PYTHON])
def test_docs_python_snippet_compiles(snippet: Block):
    """The docs' Python snippets (not run: some need torch or OpenGL) are at least valid Python."""
    try:
        compile(snippet.text, f"{rel(snippet.path)}:{snippet.line}", "exec")
    except SyntaxError as error:
        pytest.fail(f"{rel(snippet.path)}:{snippet.line + (error.lineno or 1) - 1}: {error.msg}")


def github_slug(heading: str) -> str:
    """The anchor GitHub gives a heading: lower case, punctuation dropped, spaces to hyphens."""
    text = re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", heading.strip().lower())
    return re.sub(r"[^\w\- ]", "", text).replace(" ", "-")


@functools.cache
def anchors(path: Path) -> frozenset[str]:
    """The anchors of the headings of ``path`` (a repeated heading gets ``-1``, ``-2``, ...)."""
    slugs, counts = set(), {}
    for _, line in split_markdown(path)[1]:
        match = re.match(r"^#{1,6}\s+(.*?)\s*#*\s*$", line)
        if match:
            slug = github_slug(match.group(1))
            count = counts.get(slug, 0)
            counts[slug] = count + 1
            slugs.add(slug if count == 0 else f"{slug}-{count}")
    return frozenset(slugs)


def doc_links() -> list[tuple[Path, int, str]]:
    links = []
    for path in DOC_FILES:
        for start, text in paragraphs(split_markdown(path)[1]):
            without_code = CODE_SPAN.sub(lambda m: " " * len(m.group(0)), text)
            for match in LINK.finditer(without_code):
                links.append((path, start + text.count("\n", 0, match.start()), match.group(1)))
    return links


LINKS = [link for link in doc_links() if not re.match(r"^[a-z][a-z0-9+.-]*:", link[2])]


@pytest.mark.parametrize("link", LINKS, ids=[f"{rel(p)}:{n}:{t}" for p, n, t in LINKS])
def test_relative_link_resolves(link: tuple[Path, int, str]):
    path, line, target = link
    file_part, _, anchor = target.partition("#")
    linked = (path.parent / file_part).resolve() if file_part else path
    assert linked.exists(), f"{rel(path)}:{line}: link target {target} does not exist"
    if anchor and linked.suffix == ".md":
        assert anchor in anchors(linked), (f"{rel(path)}:{line}: {target}: no heading #{anchor} in "
                                           f"{rel(linked)}; headings: {sorted(anchors(linked))}")


def test_index_links_every_docs_page_and_readme_links_the_index():
    index = (DOCS_DIR / "index.md").read_text(encoding="utf-8")
    missing = [p.name for p in DOCS_DIR.glob("*.md") if p.name != "index.md" and f"]({p.name})" not in index]
    assert not missing, f"docs/index.md does not link {missing}"
    assert "](docs/index.md)" in README.read_text(encoding="utf-8"), "README.md does not link docs/index.md"
