"""What people type in the search box, read into a small tree.

The syntax: words are all required (``hébergement urgence``); ``"…"`` is a
phrase; ``accompagn*`` a prefix; ``OR``/``OU`` an alternative; ``-hôtel``,
``NOT hôtel`` or ``SAUF hôtel`` an exclusion; ``AND``/``ET`` and brackets are
accepted. Anything else (an unmatched quote, an operator with nothing beside
it, a wildcard on one or two letters) makes the plain words be searched
instead: see :func:`parse`. The tree knows nothing of the engine.
"""

import re
from dataclasses import dataclass

OPERATORS_AND = {"AND", "ET"}
OPERATORS_OR = {"OR", "OU"}
OPERATORS_NOT = {"NOT", "SAUF"}
_OPERATORS = OPERATORS_AND | OPERATORS_OR | OPERATORS_NOT | {"ANDNOT"}
_WORD = re.compile(r"\w+")

# A wildcard needs this many letters before it: "a*" would read most of the index.
MIN_WILDCARD_PREFIX = 3


@dataclass(frozen=True)
class Word:
    text: str  # as typed; may hold several words ("sans-abri") or wildcards ("accompagn*")

    @property
    def is_wildcard(self) -> bool:
        return "*" in self.text or "?" in self.text


@dataclass(frozen=True)
class Phrase:
    text: str


@dataclass(frozen=True)
class Not:
    node: object


@dataclass(frozen=True)
class And:
    nodes: tuple


@dataclass(frozen=True)
class Or:
    nodes: tuple


def syntax_problem(text: str) -> bool:
    """True when ``text`` is not a query a person meant as written: an unmatched
    quote or bracket, an operator with nothing on one side, a bare wildcard."""
    if text.count('"') % 2:
        return True
    depth = 0
    for char in text.replace('"', " "):
        depth += {"(": 1, ")": -1}.get(char, 0)
        if depth < 0:
            return True
    if depth:
        return True
    outside_quotes = re.sub(r'"[^"]*"', " x ", text)
    tokens = re.findall(r"\(|\)|[^\s()]+", outside_quotes)
    previous = None
    for i, token in enumerate(tokens):
        nxt = tokens[i + 1] if i + 1 < len(tokens) else None
        if token in _OPERATORS:
            binary = token not in OPERATORS_NOT
            if nxt is None or nxt in _OPERATORS - OPERATORS_NOT or nxt == ")":
                return True
            if binary and (previous is None or previous in _OPERATORS or previous == "("):
                return True
        elif token not in ("(", ")"):
            bare = token.lstrip("+-")
            if not _WORD.search(bare):
                return True  # "*", "-", "+", "?" alone
            if bare[0] in "*?":
                return True  # a leading wildcard would read the whole lexicon
            if ("*" in bare or "?" in bare) and len(re.split(r"[*?]", bare, maxsplit=1)[0]) < MIN_WILDCARD_PREFIX:
                return True  # "a*" or "de?" would read most of it
        elif token == "(" and nxt == ")":
            return True
        previous = token
    return False


_TOKEN = re.compile(r'[+-]?"[^"]*"|\(|\)|[^\s()"]+')


class _Parser:
    def __init__(self, text: str):
        self.tokens = _TOKEN.findall(text)
        self.at = 0

    def peek(self):
        return self.tokens[self.at] if self.at < len(self.tokens) else None

    def take(self):
        token = self.peek()
        self.at += 1
        return token

    def alternatives(self):
        nodes = [self.conjunction()]
        while self.peek() in OPERATORS_OR:
            self.take()
            nodes.append(self.conjunction())
        nodes = [n for n in nodes if n is not None]
        return nodes[0] if len(nodes) == 1 else (Or(tuple(nodes)) if nodes else None)

    def conjunction(self):
        nodes = []
        while (token := self.peek()) is not None and token != ")" and token not in OPERATORS_OR:
            if token in OPERATORS_AND:
                self.take()
                continue
            if token == "ANDNOT":
                self.take()
                node = self.unary()
                nodes.append(Not(node) if node is not None else None)
                continue
            nodes.append(self.unary())
        nodes = [n for n in nodes if n is not None]
        return nodes[0] if len(nodes) == 1 else (And(tuple(nodes)) if nodes else None)

    def unary(self):
        token = self.take()
        if token in OPERATORS_NOT:
            node = self.unary()
            return Not(node) if node is not None else None
        if token == "(":
            node = self.alternatives()
            if self.peek() == ")":
                self.take()
            return node
        sign = ""
        if token[0] in "+-" and len(token) > 1:
            sign, token = token[0], token[1:]
        if token.startswith('"'):
            words = token.strip('"').strip()
            node = Phrase(words) if words else None
        else:
            node = Word(token)
        return Not(node) if sign == "-" and node is not None else node


def plain_words(text: str):
    words = [Word(w) for w in _WORD.findall(text) if w not in _OPERATORS]
    return words[0] if len(words) == 1 else (And(tuple(words)) if words else None)


def parse(text: str) -> tuple[object | None, bool]:
    """The tree of ``text`` (None when there is nothing to search), and
    whether only its plain words were kept because the syntax was invalid."""
    if syntax_problem(text):
        return plain_words(text), True
    return _Parser(text).alternatives(), False
