"""The bound-expression language of claims: an AST whitelist and a small interpreter.

Text from a claims file never reaches ``eval``, ``exec`` or sympy (docs/claims.md)."""
from __future__ import annotations

import ast
import math

__all__ = ["ClaimError", "Expression", "parse_expression", "FUNCTIONS"]


class ClaimError(ValueError):
    """A malformed claim (a user error: the CLI prints one line and exits 2)."""


FUNCTIONS = {"log": (1, 1), "exp": (1, 1), "sqrt": (1, 1), "min": (2, 16), "max": (2, 16)}
_BINOPS = (ast.Add, ast.Sub, ast.Mult, ast.Div, ast.Pow)
_UNARY = (ast.USub, ast.UAdd)
MAX_LENGTH = 2000
MAX_DEPTH = 60


def _describe(node):
    names = {ast.Attribute: "attribute access", ast.Subscript: "subscript",
             ast.Lambda: "lambda", ast.Call: "call", ast.Compare: "comparison",
             ast.BoolOp: "boolean operator", ast.IfExp: "conditional expression",
             ast.ListComp: "comprehension", ast.GeneratorExp: "comprehension",
             ast.SetComp: "comprehension", ast.DictComp: "comprehension",
             ast.List: "list", ast.Tuple: "tuple", ast.Dict: "dict", ast.Set: "set",
             ast.JoinedStr: "f-string", ast.Starred: "starred argument",
             ast.NamedExpr: "assignment expression", ast.Await: "await"}
    return names.get(type(node), type(node).__name__)


class Expression:
    """A checked bound expression; ``names`` are the free names it uses (functions
    excluded); ``evaluate(env)`` walks the whitelisted tree with float arithmetic."""

    __slots__ = ("text", "tree", "names")

    def __init__(self, text, tree, names):
        self.text, self.tree, self.names = text, tree, frozenset(names)

    def __repr__(self):
        return f"Expression({self.text!r})"

    def evaluate(self, env) -> float:
        """The value in float64; overflow gives inf (the constant search relies on it)."""
        return _eval(self.tree.body, env)

    def value(self, env, where="bound") -> float:
        """:meth:`evaluate`, but a non-finite result is a ClaimError: a bound that
        overflows float64 is no bound (it would make any claim hold)."""
        v = self.evaluate(env)
        if not math.isfinite(v):
            raise ClaimError(f"{where}: {self.text[:60]!r} evaluates to {v} (overflows "
                             "float64) at this point")
        return v


def parse_expression(text, allowed_names=None, where="bound") -> Expression:
    """Parse ``text`` into an :class:`Expression` or raise :class:`ClaimError`.

    ``allowed_names``: if given, every free name must be in it (functions are separate).
    Nothing is evaluated here.
    """
    if not isinstance(text, str):
        raise ClaimError(f"{where}: expected an expression string, got {type(text).__name__}")
    if not text.strip():
        raise ClaimError(f"{where}: empty expression")
    if len(text) > MAX_LENGTH:
        raise ClaimError(f"{where}: expression longer than {MAX_LENGTH} characters")
    try:
        tree = ast.parse(text.strip(), mode="eval")
    except SyntaxError as exc:
        raise ClaimError(f"{where}: not a valid expression ({exc.msg})") from None
    names = set()

    def check(node, depth):
        if depth > MAX_DEPTH:
            raise ClaimError(f"{where}: expression nested deeper than {MAX_DEPTH}")
        if isinstance(node, ast.Constant):
            v = node.value
            if isinstance(v, bool) or not isinstance(v, (int, float)):
                raise ClaimError(f"{where}: constant {v!r} is not allowed (numbers only)")
            if isinstance(v, int) and v.bit_length() > 1023 and math.isinf(_as_float(v)):
                raise ClaimError(f"{where}: number literal with {len(str(v))} digits is "
                                 "too large for float64")
            return
        if isinstance(node, ast.Name):
            if node.id.startswith("_"):
                raise ClaimError(f"{where}: name {node.id!r} is not allowed")
            if node.id in FUNCTIONS:
                raise ClaimError(f"{where}: function {node.id!r} used without a call")
            if allowed_names is not None and node.id not in allowed_names:
                raise ClaimError(f"{where}: unknown name {node.id!r} (known: "
                                 f"{', '.join(sorted(allowed_names))})")
            names.add(node.id)
            return
        if isinstance(node, ast.BinOp):
            if not isinstance(node.op, _BINOPS):
                raise ClaimError(f"{where}: operator {type(node.op).__name__} is not allowed "
                                 f"(only + - * / **)")
            check(node.left, depth + 1)
            check(node.right, depth + 1)
            return
        if isinstance(node, ast.UnaryOp):
            if not isinstance(node.op, _UNARY):
                raise ClaimError(f"{where}: unary {type(node.op).__name__} is not allowed")
            check(node.operand, depth + 1)
            return
        if isinstance(node, ast.Call):
            if not isinstance(node.func, ast.Name) or node.func.id not in FUNCTIONS:
                what = ast.unparse(node.func) if hasattr(ast, "unparse") else "?"
                raise ClaimError(f"{where}: call of {what!r} is not allowed (only "
                                 f"{', '.join(FUNCTIONS)})")
            if node.keywords:
                raise ClaimError(f"{where}: keyword arguments are not allowed")
            lo, hi = FUNCTIONS[node.func.id]
            if not lo <= len(node.args) <= hi:
                raise ClaimError(f"{where}: {node.func.id} takes "
                                 f"{lo if lo == hi else f'{lo} to {hi}'} argument(s), "
                                 f"got {len(node.args)}")
            for a in node.args:
                if isinstance(a, ast.Starred):
                    raise ClaimError(f"{where}: starred argument is not allowed")
                check(a, depth + 1)
            return
        raise ClaimError(f"{where}: {_describe(node)} is not allowed (only numbers, names, "
                         f"+ - * / **, log, exp, sqrt, min, max)")

    check(tree.body, 0)
    return Expression(text.strip(), tree, names)


def _as_float(v) -> float:
    try:
        return float(v)
    except OverflowError:
        return math.inf


def _eval(node, env):
    if isinstance(node, ast.Constant):
        return float(node.value)
    if isinstance(node, ast.Name):
        return float(env[node.id])
    if isinstance(node, ast.UnaryOp):
        v = _eval(node.operand, env)
        return -v if isinstance(node.op, ast.USub) else v
    if isinstance(node, ast.BinOp):
        x, y = _eval(node.left, env), _eval(node.right, env)
        op = node.op
        try:
            if isinstance(op, ast.Add):
                return x + y
            if isinstance(op, ast.Sub):
                return x - y
            if isinstance(op, ast.Mult):
                return x * y
            if isinstance(op, ast.Div):
                if y == 0:
                    raise ClaimError("bound: division by zero")
                return x / y
            r = x ** y                          # floats: overflow raises, never hangs
            if isinstance(r, complex):
                raise ClaimError("bound: negative number to a fractional power")
            return r
        except OverflowError:
            return math.inf
        except ZeroDivisionError:               # 0.0 ** -1
            raise ClaimError("bound: zero to a negative power") from None
    if isinstance(node, ast.Call):
        args = [_eval(a, env) for a in node.args]
        f = node.func.id
        try:
            if f == "log":
                return math.log(args[0])
            if f == "exp":
                return math.exp(args[0])
            if f == "sqrt":
                return math.sqrt(args[0])
        except OverflowError:
            return math.inf
        except ValueError:
            raise ClaimError(f"bound: {f}({args[0]!r}) is undefined") from None
        return min(args) if f == "min" else max(args)
    raise ClaimError(f"bound: {_describe(node)} is not allowed")   # unreachable after check
