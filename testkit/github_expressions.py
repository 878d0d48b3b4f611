"""Evaluate GitHub Actions expressions (`${{ ... }}`) the way the runner does, for the tests.

GitHub's evaluator cannot run here, so this implements the part of its language the generated
workflows use: literals, context paths, `!`, `==`, `!=`, `&&`, `||`, parentheses, `format()`
and the status functions. `&&` and `||` return an operand, not a boolean; strings compare
case-insensitively; a missing property is null.
"""

import re
from collections.abc import Callable

TOKEN = re.compile(
    r"\s*(?:(?P<string>'(?:[^']|'')*')|(?P<number>\d+(?:\.\d+)?)"
    r"|(?P<op>==|!=|&&|\|\||[!(),.])|(?P<name>[A-Za-z_][\w-]*))"
)
INTERPOLATION = re.compile(r"\$\{\{(.*?)\}\}", re.DOTALL)


def tokens(text: str) -> list[tuple[str, str]]:
    found, position = [], 0
    while position < len(text.rstrip()):
        match = TOKEN.match(text, position)
        if not match:
            raise ValueError(f"Cannot parse expression at {text[position:]!r}")
        found.append(next((kind, value) for kind, value in match.groupdict().items() if value))
        position = match.end()
    return found


def truthy(value: object) -> bool:
    return value not in (None, False, 0, "")


def equal(left: object, right: object) -> bool:
    if isinstance(left, str) and isinstance(right, str):
        return left.lower() == right.lower()
    return left == right


def format_(template: str, *args: object) -> str:
    return re.sub(r"\{(\d+)\}", lambda m: text_of(args[int(m.group(1))]), template)


class Expression:
    """A recursive-descent evaluator over one expression's tokens."""

    def __init__(self, text: str, contexts: dict, functions: dict[str, Callable]) -> None:
        self.tokens, self.contexts = tokens(text), contexts
        self.functions = {"format": format_} | functions

    def peek(self) -> str | None:
        return self.tokens[0][1] if self.tokens else None

    def take(self, expected: str | None = None) -> tuple[str, str]:
        kind, value = self.tokens.pop(0)
        if expected is not None and value != expected:
            raise ValueError(f"Expected {expected!r}, got {value!r}")
        return kind, value

    def evaluate(self) -> object:
        value = self.or_()
        if self.tokens:
            raise ValueError(f"Unexpected {self.peek()!r}")
        return value

    def or_(self) -> object:
        value = self.and_()
        while self.peek() == "||":
            self.take()
            right = self.and_()
            value = value if truthy(value) else right
        return value

    def and_(self) -> object:
        value = self.comparison()
        while self.peek() == "&&":
            self.take()
            right = self.comparison()
            value = right if truthy(value) else value
        return value

    def comparison(self) -> object:
        value = self.unary()
        while self.peek() in ("==", "!="):
            operator = self.take()[1]
            same = equal(value, self.unary())
            value = same if operator == "==" else not same
        return value

    def unary(self) -> object:
        if self.peek() == "!":
            self.take()
            return not truthy(self.unary())
        return self.primary()

    def primary(self) -> object:
        kind, value = self.take()
        if value == "(":
            inner = self.or_()
            self.take(")")
            return inner
        if kind == "string":
            return value[1:-1].replace("''", "'")
        if kind == "number":
            return float(value) if "." in value else int(value)
        if value in ("true", "false", "null"):
            return {"true": True, "false": False, "null": None}[value]
        if self.peek() == "(":
            self.take()
            args = []
            while self.peek() != ")":
                args.append(self.or_())
                if self.peek() == ",":
                    self.take()
            self.take(")")
            return self.functions[value](*args)
        result = self.contexts.get(value)
        while self.peek() == ".":
            self.take()
            key = self.take()[1]
            result = result.get(key) if isinstance(result, dict) else None
        return result


def text_of(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(value).lower()
    return str(value)


def evaluate(text: str, contexts: dict, functions: dict[str, Callable] | None = None) -> object:
    """The value of one bare expression, as in an `if:`."""
    return Expression(text, contexts, functions or {}).evaluate()


def render(text: str, contexts: dict, functions: dict[str, Callable] | None = None) -> object:
    """A workflow value with its `${{ }}` parts evaluated; a lone expression keeps its type."""
    parts = list(INTERPOLATION.finditer(text.strip()))
    if len(parts) == 1 and parts[0].group() == text.strip():
        return evaluate(parts[0].group(1), contexts, functions)
    return INTERPOLATION.sub(lambda m: text_of(evaluate(m.group(1), contexts, functions)), text)
