"""A lint for the report: what a marketing reader should never trip over.

:func:`lint_report` reads a rendered ``report.html`` and lists its problems:

- numbers in scientific notation (``1.12e+03``);
- a count of one with a plural noun (``1 features``, ``1 lines``);
- raw ``snake_case`` identifiers in prose outside the method appendix (``<code>``, such
  as a printed command, and file names such as ``segment_3.csv`` excepted);
- Python values (``{}``, ``['kmeans']``, ``None``, ``nan``, ``True``) outside ``<code>``;
- persona names ending in a digit (``Customers 1``);
- ``seglab`` commands that would not run (unknown options, a dataset or period that does
  not exist).

:func:`figure_problems` checks a figure the way it will be printed: no text smaller
than 8 pt once the figure is fitted to the width of an A4 page, and no overlapping
labels. The test suite runs both on the reports of every built-in dataset.
"""

from __future__ import annotations

import contextlib
import io
import re
import shlex
from collections.abc import Callable
from html.parser import HTMLParser

__all__ = ["lint_report", "command_problem", "figure_problems", "report_text", "MIN_POINTS"]

MIN_POINTS = 8.0
"""Smallest text size in a printed figure, in points."""

_SCIENTIFIC = re.compile(r"(?<![\w.])\d+(?:\.\d+)?[eE][+-]?\d+\b")
_ONE_PLURAL = re.compile(r"(?<![\w.,£$€¥₹−-])1 ([a-z]+s)\b")
_SINGULAR_S = {"is", "was", "has", "this", "its", "as", "us", "yes", "plus", "minus", "less", "across", "unless",
               "always", "does", "goes", "process", "status", "analysis", "basis", "bonus", "campus", "focus"}
_SNAKE = re.compile(r"(?<![\w./@-])[a-z][a-z0-9]*(?:_[a-z0-9]+)+\b")
_FILE_SUFFIX = re.compile(r"\.[a-z]{2,7}\b")
_REPRS = re.compile(r"\{\}|\[\]|\[['\"]|['\"]\]|\{['\"]|\bNone\b|\bTrue\b|\bFalse\b|\bnan\b|\bNaN\b|\bNaT\b|<NA>"
                    r"|\bdtype\b|\barray\(|\bTimestamp\(")
_COMMAND = re.compile(r"seglab (?:run|collect|features|cluster|personas|report|datasets|sample)\b"
                      r"(?: --?[\w-]+(?: (?!-)[^\s;),]+)?)*")


class _Reader(HTMLParser):
    """Collects the visible text (prose and ``<code>`` apart, the method appendix apart) and
    the persona names."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.stack: list[tuple[str, dict]] = []
        self.text: list[str] = []
        self.method: list[str] = []
        self.code: list[str] = []
        self.method_code: list[str] = []
        self.names: list[str] = []
        self._name: list[str] | None = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag in ("br", "img", "meta", "link", "hr", "input"):
            return
        self.stack.append((tag, attrs))
        if tag == "h3" and any(t == "article" and "card" in (a.get("class") or "") for t, a in self.stack[:-1]):
            self._name = []

    def handle_endtag(self, tag):
        while self.stack:
            top, _ = self.stack.pop()
            if top == "h3" and self._name is not None:
                self.names.append("".join(self._name).strip())
                self._name = None
            if top == tag:
                break

    def handle_data(self, data):
        tags = [t for t, _ in self.stack]
        if "style" in tags or "script" in tags:
            return
        in_method = any(a.get("id") == "method" for _, a in self.stack)
        if "code" in tags:
            (self.method_code if in_method else self.code).append(data)
        else:
            (self.method if in_method else self.text).append(data)
        if self._name is not None and not any(t == "span" for t in tags[tags.index("h3"):]):
            self._name.append(data)


def report_text(html: str) -> dict:
    """The report's visible text: ``text`` (prose outside the method appendix), ``method``
    (prose inside it), ``code`` and ``method_code`` (``<code>`` elements outside and
    inside it), and ``names`` (the persona names of its cards)."""
    reader = _Reader()
    reader.feed(html)
    return {"text": " ".join(reader.text), "method": " ".join(reader.method), "code": " ".join(reader.code),
            "method_code": " ".join(reader.method_code), "names": reader.names}


def command_problem(command: str) -> str | None:
    """Why a printed ``seglab`` command would not run, or None when it would: its options
    parse, and its dataset and periods exist."""
    from seglab._commands import build_parser
    from seglab.config import parse_period
    from seglab.exceptions import SeglabError
    from seglab.collect.stage import resolve_period

    argv = shlex.split(command)
    if not argv or argv[0] != "seglab":
        return f"not a seglab command: {command}"
    try:
        with contextlib.redirect_stderr(io.StringIO()):
            args = build_parser(argv[1:]).parse_args(argv[1:])
    except SystemExit:
        return f"options do not parse: {command}"
    if args.command in (None, "datasets", "sample"):
        return None
    try:
        resolve_period(args.dataset, args.period)
        if getattr(args, "compare_to", None) and args.compare_to != "none":
            parse_period(args.compare_to)
            resolve_period(args.dataset, args.compare_to)
    except SeglabError as err:
        return f"{command}: {err}"
    if getattr(args, "config", None) is not None and not args.config.is_file():
        return f"{command}: the config file {args.config} does not exist"
    return None


def lint_report(html: str, *, check_command: Callable[[str], str | None] | None = command_problem) -> list[str]:
    """The report's problems (see the module docstring); an empty list when there are none.

    ``check_command`` decides whether a printed command runs (None skips that check).
    """
    parts = report_text(html)
    text, method, names = parts["text"], parts["method"], parts["names"]
    problems = []
    everything = f"{text} {method}"
    for m in _SCIENTIFIC.finditer(everything):
        problems.append(f"scientific notation: {m.group(0)!r} in …{_around(everything, m)}…")
    for m in _ONE_PLURAL.finditer(everything):
        if m.group(1) not in _SINGULAR_S:
            problems.append(f"a count of one with a plural: {m.group(0)!r} in …{_around(everything, m)}…")
    outside = text  # code (a command, a file name) may name things as the machine does
    for m in _SNAKE.finditer(outside):
        if _FILE_SUFFIX.match(outside, m.end()):
            continue
        problems.append(f"raw identifier outside the method appendix: {m.group(0)!r} in …{_around(outside, m)}…")
    for m in _REPRS.finditer(everything):
        problems.append(f"Python value: {m.group(0)!r} in …{_around(everything, m)}…")
    for name in names:
        if name[-1:].isdigit():
            problems.append(f"persona name ends in a digit: {name!r}")
    if check_command is not None:
        commands = " ".join(f"{everything} {parts['code']} {parts['method_code']}".split())
        for command in dict.fromkeys(m.group(0) for m in _COMMAND.finditer(commands)):  # each checked once
            problem = check_command(command)
            if problem:
                problems.append(f"printed command does not run: {problem}")
    return problems


def _around(text: str, match: re.Match, width: int = 40) -> str:
    return " ".join(text[max(match.start() - width, 0):match.end() + width].split())


def _drawn_texts(fig) -> list:
    """The texts a draw of ``fig`` really draws (tick labels outside the view exist but are
    not drawn)."""
    from unittest import mock

    import matplotlib

    drawn = []
    original = matplotlib.text.Text.draw

    def record(text, renderer):
        if text.get_visible() and text.get_text().strip():
            drawn.append(text)
        return original(text, renderer)

    with mock.patch.object(matplotlib.text.Text, "draw", record):
        fig.canvas.draw()
    return list(dict.fromkeys(drawn))


def figure_problems(fig, *, min_points: float = MIN_POINTS, width: float | None = None) -> list[str]:
    """Text smaller than ``min_points`` once ``fig`` is fitted to ``width`` inches (A4's
    printable width by default), and labels that overlap."""
    import matplotlib

    from seglab.plotting.personas import PAGE_WIDTH

    if isinstance(fig, matplotlib.axes.Axes):
        fig = fig.figure
    width = PAGE_WIDTH if width is None else width
    texts = _drawn_texts(fig)
    renderer = fig.canvas.get_renderer()
    printed = fig.get_tightbbox(renderer).width
    scale = min(1.0, width / printed) if printed > 0 else 1.0
    problems = []
    small = sorted({(round(t.get_fontsize() * scale, 1), t.get_text()[:30]) for t in texts
                    if t.get_fontsize() * scale < min_points - 1e-6})
    for size, label in small[:5]:
        problems.append(f"text {label!r} prints at {size} pt (figure {printed:.1f} in wide)")
    boxes = [(t, t.get_window_extent(renderer)) for t in texts]
    for i, (a, box_a) in enumerate(boxes):
        for b, box_b in boxes[i + 1:]:
            if not box_a.overlaps(box_b):
                continue
            overlap = max(0.0, min(box_a.x1, box_b.x1) - max(box_a.x0, box_b.x0)) * \
                max(0.0, min(box_a.y1, box_b.y1) - max(box_a.y0, box_b.y0))
            smaller = min(box_a.width * box_a.height, box_b.width * box_b.height)
            if smaller > 0 and overlap > 0.15 * smaller:
                problems.append(f"labels overlap: {a.get_text()[:30]!r} and {b.get_text()[:30]!r}")
    return problems
