"""Exact normal form of the checker's expression class (imports: standard library, python-flint).

An identity ``lhs == rhs`` is proved by computing both sides as elements of one field and
testing the difference for zero -- no evaluation points, no sympy.  The field is

    F = K(i, sqrt 2),   K = Q(x_1..x_n, z_1..z_m, P, X_1..X_8)

* ``x_j``: the named variables (``theta``, ``a1``, ``s``, ...), indeterminates;
* ``z_v = exp(i v)`` for every angle variable ``v`` (a name inside ``sin``/``cos``):
  ``sin v = (z_v - 1/z_v)/(2i)``, ``cos v = (z_v + 1/z_v)/2``, so sin^2 + cos^2 = 1 holds
  by construction (this is the reduction modulo sin^2 + cos^2 - 1, done once and for all);
* ``P = sqrt(pi)`` (pi = P^2), an indeterminate since pi is transcendental;
* ``X_j``: one indeterminate per distinct ``exp(E)`` or ``erf(E)`` (E in exact normal form).

Elements are 4-tuples over K on the basis 1, i, sqrt 2, i sqrt 2; elements of K are
fractions of python-flint ``fmpq_mpoly`` with the gcd cancelled and a monic denominator,
so equal elements have equal representations.  Every rule used is a true identity of the
real functions (sums, products, quotients, d/dv z_v = i z_v, d exp(E) = E' exp(E),
d erf(E) = 2/sqrt(pi) exp(-E^2) E'), hence a zero normal form proves the identity wherever
both sides are defined.  Integrals are proved by a stated antiderivative F: the checker
verifies dF/dx == integrand exactly and evaluates F at the limits exactly (limits are
polynomials over Q in the named variables and pi; where F involves sin/cos of x, integer
combinations of angle variables plus a multiple of pi/2).  Anything else raises
:class:`NotCertifiable` -- never a numerical fallback.

All sizes are bounded before the work they would cost (text, nesting, nodes, powers,
derivative order, polynomial terms and degree).
"""
import ast
import math

from flint import fmpq, fmpq_mpoly_ctx

MAX_CHARS = 60_000          # one expression text (the largest the prover writes: 15.6 k)
MAX_PAREN_DEPTH = 40        # bracket nesting, scanned on the raw text before parsing (prover: 10)
MAX_NODES = 50_000          # AST nodes of one expression (the largest the prover writes: 12.3 k)
MAX_POWER = 16              # |n| in x**n
MAX_ORDER = 4               # total order of one Derivative
MAX_INT_DIGITS = 40         # an integer literal
MAX_TERMS = 50_000          # terms of one polynomial (numerator or denominator)
MAX_PRODUCT = 4_000_000     # terms(a) * terms(b) before a multiplication
MAX_DEGREE = 400            # total degree of one polynomial
MAX_SLOTS = 8               # distinct exp/erf arguments in one identity
MAX_ANGLE_COEFF = 8         # |n| in sin(n v + ...)
FUNCS = ("sin", "cos", "sqrt", "exp", "erf", "Integral", "Derivative")


class NotCertifiable(Exception):
    """The expression is outside the class the checker can prove exactly (message says why)."""


class Disproved(NotCertifiable):
    """The expression is in the class and lhs - rhs has a nonzero normal form: false."""


def _fail(msg):
    raise NotCertifiable(msg)


# ----------------------------------------------------------------------------- text bounds

def parse(text, what):
    """The AST of one expression text, bounded before and after parsing."""
    if not isinstance(text, str):
        _fail(f"{what}: expected an expression string")
    if len(text) > MAX_CHARS:
        _fail(f"{what}: expression longer than {MAX_CHARS} characters ({len(text)})")
    depth = top = 0
    for ch in text:
        if ch in "([{":
            depth += 1
            top = max(top, depth)
        elif ch in ")]}":
            depth -= 1
    if top > MAX_PAREN_DEPTH:
        _fail(f"{what}: brackets nested deeper than {MAX_PAREN_DEPTH}")
    try:
        tree = ast.parse(text, mode="eval")
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        _fail(f"{what}: does not parse")
    n = 0
    for _ in ast.walk(tree):
        n += 1
        if n > MAX_NODES:
            _fail(f"{what}: more than {MAX_NODES} expression nodes")
    return tree.body


def _chain(node, ops):
    """Operands of a left-deep chain of the given operators (iteratively: no recursion)."""
    items = []
    while isinstance(node, ast.BinOp) and isinstance(node.op, ops):
        items.append((node.op, node.right))
        node = node.left
    items.append((None, node))
    return items[::-1]


def names_in(node):
    """Free names: every Name except pi, function names and Integral variables."""
    bound, called, out = set(), set(), set()
    for n in ast.walk(node):
        if isinstance(n, ast.Call) and isinstance(n.func, ast.Name):
            called.add(n.func.id)
            if n.func.id == "Integral" and len(n.args) == 2 and isinstance(n.args[1], ast.Tuple) \
                    and n.args[1].elts and isinstance(n.args[1].elts[0], ast.Name):
                bound.add(n.args[1].elts[0].id)
    for n in ast.walk(node):
        if isinstance(n, ast.Name):
            out.add(n.id)
    return out - bound - called - {"pi"}


def integrals_in(node):
    """Integral calls in textual order."""
    calls = [n for n in ast.walk(node) if isinstance(n, ast.Call)
             and isinstance(n.func, ast.Name) and n.func.id == "Integral"]
    return sorted(calls, key=lambda n: (n.lineno, n.col_offset))


def _angle_names(nodes):
    out = set()
    for root in nodes:
        for n in ast.walk(root):
            if isinstance(n, ast.Call) and isinstance(n.func, ast.Name) and n.func.id in ("sin", "cos"):
                for a in n.args:
                    out |= {m.id for m in ast.walk(a) if isinstance(m, ast.Name)} - {"pi"}
    return out


# ----------------------------------------------------------------------------- the field K

class Ring:
    """The polynomial context and the exp/erf slots of one identity."""

    def __init__(self, names, angles):
        self.names = sorted(names)
        self.angles = sorted(angles)
        gens = self.names + [f"z__{v}" for v in self.angles] + ["P__"] + [f"X__{j}" for j in range(MAX_SLOTS)]
        self.ctx = fmpq_mpoly_ctx.get(tuple(gens), "degrevlex")
        self.gens = self.ctx.gens()
        self.index = {g: j for j, g in enumerate(gens)}
        self.slots = {}          # key -> (j, fn, arg)
        self.slot_info = {}      # generator index -> (fn, arg)
        self.zero_k = Frac(self, self.ctx.from_dict({}), self.ctx.from_dict({(0,) * len(gens): 1}))
        self.one_k = Frac(self, self.ctx.from_dict({(0,) * len(gens): 1}),
                          self.ctx.from_dict({(0,) * len(gens): 1}))

    def gen(self, name):
        return self.gens[self.index[name]]

    def const(self, q):
        q = fmpq(q.numerator, q.denominator) if not isinstance(q, int) else fmpq(q)
        c = self.ctx.from_dict({(0,) * len(self.gens): q}) if q != 0 else self.ctx.from_dict({})
        return El(self, (Frac(self, c, self.one_k.den), self.zero_k, self.zero_k, self.zero_k))

    def poly_el(self, p):
        return El(self, (Frac(self, p, self.one_k.den), self.zero_k, self.zero_k, self.zero_k))

    def slot(self, fn, arg):
        """The indeterminate for fn(arg) (exp or erf); exp(0) = 1 and erf(0) = 0."""
        if arg.is_zero():
            return self.const(1 if fn == "exp" else 0)
        key = (fn, arg.key())
        if key not in self.slots:
            if len(self.slots) >= MAX_SLOTS:
                _fail(f"more than {MAX_SLOTS} distinct exp/erf terms")
            j = self.index[f"X__{len(self.slots)}"]
            self.slots[key] = j
            self.slot_info[j] = (fn, arg)
        return self.poly_el(self.gens[self.slots[key]])


def _check_size(p):
    if len(p) > MAX_TERMS or (len(p) and p.total_degree() > MAX_DEGREE):
        _fail(f"expression too large (a polynomial of {len(p)} terms, degree {p.total_degree()})")
    return p


def _mul(a, b):
    if len(a) * len(b) > MAX_PRODUCT:
        _fail(f"expression too large (a product of {len(a)} x {len(b)} terms)")
    return _check_size(a * b)


class Frac:
    """num/den in K: gcd cancelled, den monic (canonical)."""
    __slots__ = ("R", "num", "den")

    def __init__(self, R, num, den, reduce=False):
        self.R = R
        if reduce:
            if den.is_zero():
                _fail("division by zero")
            if num.is_zero():
                num, den = num, R.one_k.den
            elif not den.is_constant():
                g = num.gcd(den)
                if not g.is_one():
                    num, den = _check_size(num / g), _check_size(den / g)
            lc = den.leading_coefficient()
            if lc != 1:
                num, den = num / lc, den / lc
        self.num, self.den = num, den

    def is_zero(self):
        return self.num.is_zero()

    def __add__(self, o):
        if o.is_zero():
            return self
        if self.is_zero():
            return o
        if self.den == o.den:
            return Frac(self.R, _check_size(self.num + o.num), self.den, True)
        return Frac(self.R, _check_size(_mul(self.num, o.den) + _mul(o.num, self.den)),
                    _mul(self.den, o.den), True)

    def __neg__(self):
        return Frac(self.R, -self.num, self.den)

    def __sub__(self, o):
        return self + (-o)

    def __mul__(self, o):
        if self.is_zero() or o.is_zero():
            return self.R.zero_k
        return Frac(self.R, _mul(self.num, o.num), _mul(self.den, o.den), True)

    def scale(self, q):
        return Frac(self.R, self.num * q, self.den, True) if q else self.R.zero_k

    def inv(self):
        if self.is_zero():
            _fail("division by zero")
        return Frac(self.R, self.den, self.num, True)


class El:
    """c0 + c1 i + c2 sqrt2 + c3 i sqrt2 with c_j in K."""
    __slots__ = ("R", "c")

    def __init__(self, R, c):
        self.R, self.c = R, tuple(c)

    def is_zero(self):
        return all(x.is_zero() for x in self.c)

    def key(self):
        return tuple((x.num.str(), x.den.str()) for x in self.c)

    def __add__(self, o):
        return El(self.R, (x + y for x, y in zip(self.c, o.c)))

    def __sub__(self, o):
        return El(self.R, (x - y for x, y in zip(self.c, o.c)))

    def __neg__(self):
        return El(self.R, (-x for x in self.c))

    def __mul__(self, o):
        a0, a1, a2, a3 = self.c
        b0, b1, b2, b3 = o.c
        return El(self.R, (a0 * b0 - a1 * b1 + (a2 * b2).scale(2) - (a3 * b3).scale(2),
                           a0 * b1 + a1 * b0 + (a2 * b3 + a3 * b2).scale(2),
                           a0 * b2 + a2 * b0 - (a1 * b3 + a3 * b1),
                           a0 * b3 + a3 * b0 + a1 * b2 + a2 * b1))

    def inv(self):
        # x = u + v sqrt2 (u, v in K(i)): 1/x = (u - v sqrt2)/(u^2 - 2 v^2); in K(i) the same
        # with i: 1/(n0 + n1 i) = (n0 - n1 i)/(n0^2 + n1^2).  Nonzero norms: K is formally real
        # and sqrt 2 is not in K(i).
        a0, a1, a2, a3 = self.c
        u2 = (a0 * a0 - a1 * a1, (a0 * a1).scale(2))
        v2 = (a2 * a2 - a3 * a3, (a2 * a3).scale(2))
        n0, n1 = u2[0] - v2[0].scale(2), u2[1] - v2[1].scale(2)
        d = (n0 * n0 + n1 * n1).inv()
        m0, m1 = n0 * d, (-n1) * d                       # 1/(n0 + n1 i)
        conj = El(self.R, (a0, a1, -a2, -a3))            # u - v sqrt2
        return conj * El(self.R, (m0, m1, self.R.zero_k, self.R.zero_k))

    def __truediv__(self, o):
        if o.is_zero():
            _fail("division by zero")
        return self * o.inv()

    def pow(self, n):
        if n < 0:
            return self.pow(-n).inv()
        out = self.R.const(1)
        for _ in range(n):
            out = out * self
        return out

    def real_poly(self):
        """This element as one fmpq_mpoly if it is a polynomial over Q in K's generators, else None."""
        if any(not x.is_zero() for x in self.c[1:]) or not self.c[0].den.is_constant():
            return None
        return self.c[0].num / self.c[0].den.leading_coefficient()


def _unit(R, j):
    """1, i, sqrt2, i sqrt2 as elements."""
    c = [R.zero_k] * 4
    c[j] = R.one_k
    return El(R, c)


# ----------------------------------------------------------------------------- evaluation

class Evaluator:
    """Exact values of expression ASTs in the field of one identity."""

    def __init__(self, R, antiderivatives):
        self.R = R
        self.anti = antiderivatives      # id(Integral node) -> (var, F ast)
        self.P = R.poly_el(R.gen("P__"))
        self.pi = self.P * self.P

    def value(self, node):
        R = self.R
        if isinstance(node, ast.Constant):
            v = node.value
            if type(v) is not int:
                _fail(f"constant {str(v)[:40]!r} is not an integer")
            if len(str(abs(v))) > MAX_INT_DIGITS:
                _fail(f"integer with more than {MAX_INT_DIGITS} digits")
            return R.const(v)
        if isinstance(node, ast.Name):
            if node.id == "pi":
                return self.pi
            if node.id not in R.index or node.id.endswith("__") or "__" in node.id:
                _fail(f"unknown name {node.id}")
            return R.poly_el(R.gen(node.id))
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
            v = self.value(node.operand)
            return -v if isinstance(node.op, ast.USub) else v
        if isinstance(node, ast.BinOp) and isinstance(node.op, (ast.Add, ast.Sub)):
            out = None
            for op, x in _chain(node, (ast.Add, ast.Sub)):
                v = self.value(x)
                out = v if op is None else (out + v if isinstance(op, ast.Add) else out - v)
            return out
        if isinstance(node, ast.BinOp) and isinstance(node.op, (ast.Mult, ast.Div)):
            out = None
            for op, x in _chain(node, (ast.Mult, ast.Div)):
                v = self.value(x)
                out = v if op is None else (out * v if isinstance(op, ast.Mult) else out / v)
            return out
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Pow):
            return self.value(node.left).pow(_small_int(node.right, MAX_POWER, "power"))
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and not node.keywords \
                and node.func.id in FUNCS:
            if node.func.id == "Integral":
                return self._integral(node)
            return getattr(self, "_" + node.func.id)(node.args)
        _fail(f"expression not allowed: {type(node).__name__}"
              + (f" {node.func.id}" if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) else ""))

    # --- functions

    def _one_arg(self, args, f):
        if len(args) != 1 or isinstance(args[0], ast.Starred):
            _fail(f"{f}: expected one argument")
        return self.value(args[0])

    def _exp_i(self, arg, what):
        """exp(i * arg) for arg = sum n_v v + q pi/2 (n_v, q integers)."""
        R = self.R
        p = arg.real_poly()
        if p is None:
            _fail(f"{what}: argument is not a polynomial over Q")
        out = R.const(1)
        q = fmpq(0)
        P2 = tuple(2 if g == "P__" else 0 for g in R.ctx.names())
        for exps, c in p.terms():
            nz = [j for j, e in enumerate(exps) if e]
            if not nz:
                _fail(f"{what}: argument has a constant term that is not a multiple of pi/2")
            if tuple(exps) == P2:
                q = c * 2
                continue
            if len(nz) != 1 or exps[nz[0]] != 1 or R.ctx.names()[nz[0]] not in R.angles:
                _fail(f"{what}: argument is not an integer combination of angles plus a multiple of pi/2")
            if c.q != 1 or abs(int(c.p)) > MAX_ANGLE_COEFF:
                _fail(f"{what}: angle coefficient {c} not an integer of size <= {MAX_ANGLE_COEFF}")
            z = R.poly_el(R.gen("z__" + R.ctx.names()[nz[0]]))
            out = out * z.pow(int(c.p))
        if q.q != 1:
            _fail(f"{what}: constant term is not a multiple of pi/2")
        return out * _unit(R, 1).pow(int(q.p) % 4)

    def _sin(self, args):
        e = self._exp_i(self._one_arg(args, "sin"), "sin")
        two_i = _unit(self.R, 1) * self.R.const(2)
        return (e - e.inv()) / two_i

    def _cos(self, args):
        e = self._exp_i(self._one_arg(args, "cos"), "cos")
        return (e + e.inv()) / self.R.const(2)

    def _sqrt(self, args):
        """sqrt(c pi^n) for a positive rational c whose square-free part is 1 or 2."""
        R = self.R
        p = self._one_arg(args, "sqrt").real_poly()
        if p is None or len(p) != 1:
            _fail("sqrt: argument is not a positive rational times a power of pi")
        (exps, c), = p.terms()
        names = R.ctx.names()
        if any(e and names[j] != "P__" for j, e in enumerate(exps)) or c <= 0:
            _fail("sqrt: argument is not a positive rational times a power of pi")
        e = exps[names.index("P__")]
        if e % 2:
            _fail("sqrt: argument is not a positive rational times a power of pi")
        num, den = int(c.p), int(c.q)
        if len(str(num * den)) > MAX_INT_DIGITS:
            _fail("sqrt: argument too large")
        nd = num * den
        out = None
        for j, m in ((0, nd), (2, nd // 2 if nd % 2 == 0 else -1)):
            if m > 0 and math.isqrt(m) ** 2 == m:
                out = _unit(R, j) * R.const(fmpq(math.isqrt(m), den))
                break
        if out is None:
            _fail("sqrt: only square roots of (square rationals) x 2^j x pi^n are certifiable")
        return out * self.P.pow(e // 2)

    def _exp(self, args):
        return self.R.slot("exp", self._one_arg(args, "exp"))

    def _erf(self, args):
        return self.R.slot("erf", self._one_arg(args, "erf"))

    def _Derivative(self, args):
        if len(args) < 2:
            _fail("Derivative: expected an expression and variables")
        order = []
        for a in args[1:]:
            if isinstance(a, ast.Tuple):
                if len(a.elts) != 2 or not isinstance(a.elts[0], ast.Name):
                    _fail("Derivative: expected (variable, order)")
                order += [a.elts[0].id] * _small_int(a.elts[1], MAX_ORDER, "derivative order", 1)
            elif isinstance(a, ast.Name):
                order.append(a.id)
            else:
                _fail("Derivative: expected a variable")
            if len(order) > MAX_ORDER:
                _fail(f"Derivative: total order above {MAX_ORDER}")
        for v in order:
            if v not in self.R.names:
                _fail(f"Derivative: unknown variable {v}")
        if _has_call(args[0], ("Integral",)):
            _fail("Derivative: of an Integral is not certifiable")
        f = self.value(args[0])
        for v in order:
            f = derivative(f, v)
        return f

    def _integral(self, node):
        args = node.args
        if len(args) != 2 or not isinstance(args[1], ast.Tuple) or len(args[1].elts) != 3 \
                or not isinstance(args[1].elts[0], ast.Name):
            _fail("Integral: expected Integral(f, (x, a, b))")
        x, lo, hi = args[1].elts
        x = x.id
        if x not in self.R.names:
            _fail(f"Integral: unknown variable {x}")
        for part in (args[0], lo, hi):
            if _has_call(part, ("Integral", "Derivative")):
                _fail("Integral: nested Integral or Derivative is not certifiable")
        if x in names_in(lo) | names_in(hi):
            _fail("Integral: a limit depends on the integration variable")
        var, F = self.anti[id(node)]
        if var != x:
            _fail(f"Integral: the antiderivative is in {var}, the integral in {x}")
        f, Fv = self.value(args[0]), self.value(F)
        _smooth_in(self.R, f, x, "integrand")
        _smooth_in(self.R, Fv, x, "antiderivative")
        if not (derivative(Fv, x) - f).is_zero():
            _fail("Integral: the stated antiderivative's derivative is not the integrand")
        return substitute(Fv, x, self.value(hi), self) - substitute(Fv, x, self.value(lo), self)


def _small_int(node, bound, what, minimum=None):
    neg = isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub)
    c = node.operand if neg else node
    if not (isinstance(c, ast.Constant) and type(c.value) is int):
        _fail(f"{what}: expected an integer literal")
    n = -c.value if neg else c.value
    lo = -bound if minimum is None else minimum
    if not lo <= n <= bound:
        _fail(f"{what} {n} outside [{lo}, {bound}]")
    return n


def _has_call(node, fns):
    return any(isinstance(n, ast.Call) and isinstance(n.func, ast.Name) and n.func.id in fns
               for n in ast.walk(node))


def _depends(R, j, x, seen=()):
    """Whether generator j depends on variable x (x itself, z_x, or a slot whose argument does)."""
    name = R.ctx.names()[j]
    if name in (x, "z__" + x):
        return True
    if j in R.slot_info and j not in seen:
        return any(_el_depends(R, R.slot_info[j][1], x, seen + (j,)))
    return False


def _el_depends(R, el, x, seen=()):
    for c in el.c:
        for p in (c.num, c.den):
            for j, d in enumerate(p.degrees()):
                if d > 0:
                    yield _depends(R, j, x, seen)


def _smooth_in(R, el, x, what):
    """The denominators involve x only through powers of z_x (|z_x| = 1): el is smooth in x."""
    names = R.ctx.names()
    for c in el.c:
        monoms = c.den.monoms()
        for j, d in enumerate(c.den.degrees()):
            if d <= 0 or not _depends(R, j, x):
                continue
            if names[j] != "z__" + x or len({m[j] for m in monoms}) != 1:
                _fail(f"Integral: the {what} has a denominator depending on {x}")


def derivative(el, x):
    """d el / d x, exactly (x a named variable)."""
    R = el.R
    names = R.ctx.names()
    images = {}          # generator index -> d(gen)/dx as El (only generators el contains)
    used = _used(el)
    for j, name in enumerate(names):
        if j not in used:
            continue
        if name == x:
            images[j] = R.const(1)
        elif name == "z__" + x:
            images[j] = _unit(R, 1) * R.poly_el(R.gens[j])
        elif j in R.slot_info and _depends(R, j, x):
            fn, arg = R.slot_info[j]
            da = derivative(arg, x)
            if fn == "exp":
                images[j] = da * R.poly_el(R.gens[j])
            else:   # d erf(E) = 2/sqrt(pi) exp(-E^2) dE
                P = R.poly_el(R.gen("P__"))
                images[j] = da * R.slot("exp", -(arg * arg)) * R.const(2) / P
    out = []
    for c in el.c:
        dn, dd = _dpoly(R, c.num, images), _dpoly(R, c.den, images)
        num_el, den_el = R.poly_el(c.num), R.poly_el(c.den)
        out.append((dn * den_el - num_el * dd) / (den_el * den_el))
    total = R.const(0)
    for j, d in enumerate(out):
        total = total + d * _unit(R, j)
    return total


def _dpoly(R, p, images):
    acc = R.const(0)
    for j, img in images.items():
        if p.degrees()[j] > 0:
            acc = acc + R.poly_el(_check_size(p.derivative(j))) * img
    return acc


def _used(el):
    """Indices of the generators el contains."""
    out = set()
    for c in el.c:
        for q in (c.num, c.den):
            out |= {j for j, d in enumerate(q.degrees()) if d > 0}
    return out


def substitute(el, x, value, ev):
    """el with x := value (and z_x := exp(i value), slots re-keyed), exactly."""
    R = el.R
    if value.real_poly() is None:
        _fail("Integral: a limit is not a polynomial over Q")
    used = _used(el)
    images = {R.index[x]: value}
    z = R.index.get("z__" + x)
    if z is not None and z in used:
        images[z] = ev._exp_i(value, "Integral limit")
    for j in used:
        if j in R.slot_info and _depends(R, j, x):
            fn, arg = R.slot_info[j]
            images[j] = R.slot(fn, substitute(arg, x, value, ev))
    out = R.const(0)
    for j, c in enumerate(el.c):
        out = out + (_subs_poly(R, c.num, images) / _subs_poly(R, c.den, images)) * _unit(R, j)
    return out


def _subs_poly(R, p, images):
    if not any(p.degrees()[j] > 0 for j in images):
        return R.poly_el(p)
    acc = R.const(0)
    for exps, coeff in p.terms():
        term = R.const(coeff)
        rest = [0] * len(exps)
        for j, e in enumerate(exps):
            if e and j in images:
                term = term * images[j].pow(e)
            else:
                rest[j] = e
        acc = acc + term * R.poly_el(R.ctx.from_dict({tuple(rest): 1}))
    return acc


# ----------------------------------------------------------------------------- identities

def prove_identity(lhs, rhs, variables, antiderivatives, what):
    """Raise NotCertifiable unless lhs == rhs is proved exactly; returns None.

    ``antiderivatives``: list of {"var": name, "F": text}, one per Integral in lhs then rhs
    (textual order).  ``variables``: the free names (checked by the caller)."""
    L, Rt = parse(lhs, f"{what} lhs"), parse(rhs, f"{what} rhs")
    ints = integrals_in(L) + integrals_in(Rt)
    for node in ints:
        args = node.args
        if node.keywords or len(args) != 2 or not isinstance(args[1], ast.Tuple) \
                or len(args[1].elts) != 3 or not isinstance(args[1].elts[0], ast.Name):
            _fail("Integral: expected Integral(f, (x, a, b))")
    if not isinstance(antiderivatives, list) or len(antiderivatives) != len(ints):
        _fail(f"{what}: expected one antiderivative per Integral ({len(ints)})")
    anti, int_vars, F_trees = {}, set(), []
    for node, a in zip(ints, antiderivatives):
        if not (isinstance(a, dict) and set(a) == {"var", "F"} and isinstance(a["var"], str)):
            _fail(f"{what}: antiderivative entries need exactly 'var' and 'F'")
        x = node.args[1].elts[0].id
        if a["var"] != x:
            _fail(f"Integral: the antiderivative is in {a['var'][:20]}, the integral in {x}")
        F = parse(a["F"], f"{what} antiderivative")
        if _has_call(F, ("Integral", "Derivative")):
            _fail(f"{what}: antiderivative with Integral or Derivative")
        if not names_in(F) <= set(variables) | {a["var"]}:
            _fail(f"{what}: antiderivative uses names not in vars")
        anti[id(node)] = (a["var"], F)
        int_vars.add(a["var"])
        F_trees.append(F)
    names = set(variables) | int_vars
    for n in names:
        if not n.isidentifier() or "__" in n or n == "pi" or n in FUNCS:
            _fail(f"{what}: bad variable name {n[:40]!r}")
    R = Ring(names, _angle_names([L, Rt] + F_trees))
    ev = Evaluator(R, anti)
    diff = ev.value(L) - ev.value(Rt)
    if not diff.is_zero():
        raise Disproved(f"{what}: lhs - rhs has a nonzero exact normal form")
