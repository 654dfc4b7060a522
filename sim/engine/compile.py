"""Compile PySD's ``AbstractModel`` into batched numpy code.

The plan
--------
Every model element becomes one array over the runs (shape ``(N,)``, or ``(N, *subscripts)``
for a subscripted element; a value that does not vary across runs may stay a float or keep a
leading axis of 1). Elements are split into

* **static** ones, which depend on nothing that changes in time (constants, INITIAL, and
  expressions of those): computed once, in :func:`initialize`, where run parameters override
  them;
* **dynamic** ones, recomputed every Euler step in dependency order; and
* **states** (INTEG, SMOOTH, DELAY, TREND, FORECAST, SAMPLE IF TRUE, DELAY FIXED), held in a
  list and advanced after the step's values are recorded, exactly as PySD does (all
  derivatives from the values at time *t*, then ``state + ddt * dt``).

The compiler emits Python source for three functions (``controls``, ``initialize`` and
``step``) and compiles it with :func:`compile`. One numpy expression per model element: no
pandas or xarray, no per-run loop.

Why no text from the model file can reach the generated code
-------------------------------------------------------------
The source is assembled only from

* identifiers the compiler makes itself (``v12`` for element 12, ``s3`` for state 3,
  ``K[5]`` for a constant array) — never a model name;
* numbers, written with ``repr(float(x))`` of values PySD's parser already turned into
  floats (``repr`` of a float can only be digits, ``.``, ``e``, ``-``; infinities and NaN
  are written as the names ``_INF``/``_NAN``);
* operators and numpy function names looked up in fixed tables (:data:`_BINARY`,
  :data:`_UNARY_FUNCTIONS`, …) keyed by the AST's operator/function name; a name not in a
  table raises :class:`~sim.errors.InputError` instead of being copied.

Arrays (subscripted constants, lookup tables, gather indices) go into the constants list
``K`` as data. Model names, units and comments are used only as data (Dataset names and
attributes), and ``tests/test_engine_codegen.py`` checks that none appears in the code.
PySD's own Python builder is never called and no PySD-generated file is imported; only its
translator (text → ``AbstractModel``) and its pure name/subscript helpers
(``NamespaceManager``, ``SubscriptManager``) are used, after :mod:`sim.safety` has checked
the file.
"""

from __future__ import annotations

import math
import re
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from pysd.builders.python.namespace import NamespaceManager
from pysd.builders.python.subscripts import SubscriptManager
from pysd.translators.structures import abstract_expressions as ae
from pysd.translators.structures import abstract_model as am

from sim.errors import InputError

CONTROL_NAMES = ("initial_time", "final_time", "time_step", "saveper")

# Vensim operator -> Python/numpy template. Only these strings ever reach generated code.
_BINARY = {
    "+": "({0} + {1})",
    "-": "({0} - {1})",
    "*": "({0} * {1})",
    "/": "np.divide({0}, {1})",  # a float division by zero gives inf, not an exception
    "^": "np.power({0}, {1})",
    "=": "({0} == {1})",
    "<>": "({0} != {1})",
    "<": "({0} < {1})",
    "<=": "({0} <= {1})",
    ">": "({0} > {1})",
    ">=": "({0} >= {1})",
    ":AND:": "np.logical_and({0}, {1})",
    ":OR:": "np.logical_or({0}, {1})",
}

_UNARY_FUNCTIONS = {
    "abs": "np.abs",
    "exp": "np.exp",
    "sqrt": "np.sqrt",
    "ln": "np.log",
    "sin": "np.sin",
    "cos": "np.cos",
    "tan": "np.tan",
    "arcsin": "np.arcsin",
    "arccos": "np.arccos",
    "arctan": "np.arctan",
    "sinh": "np.sinh",
    "cosh": "np.cosh",
    "tanh": "np.tanh",
    "integer": "np.trunc",
}

_NARY_FUNCTIONS = {
    # name: (template, number of arguments)
    "min": ("np.minimum({0}, {1})", 2),
    "max": ("np.maximum({0}, {1})", 2),
    "power": ("np.power({0}, {1})", 2),
    "log": ("F.log({0}, {1})", 2),
    "modulo": ("F.modulo({0}, {1})", 2),
    "quantum": ("F.quantum({0}, {1})", 2),
    "xidz": ("F.xidz({0}, {1}, {2})", 3),
    "zidz": ("F.zidz({0}, {1})", 2),
    "if_then_else": ("np.where({0}, {1}, {2})", 3),
}

_TIME_FUNCTIONS = {
    # name: (template with t and dt, number of arguments)
    "step": ("F.step(t, dt, {0}, {1})", 2),
    "pulse": ("F.pulse(t, dt, {0}, {1})", 2),
    "pulse_train": ("F.pulse_train(t, dt, {0}, {1}, {2}, {3})", 4),
}

_AGGREGATIONS = {"sum": "np.sum", "prod": "np.prod", "vmin": "np.min", "vmax": "np.max"}


@dataclass
class Expr:
    """Generated code for one sub-expression and the named subscript axes of its value.

    The value has the run axis first (length N or 1) and then one full-length axis per name
    in ``dims``; without dims it is a float or a 1-D run array.
    """

    code: str
    dims: tuple[str, ...] = ()
    literal: bool = False
    invariant: bool = False  # the same at every time step (hoisted out of the step)

    def __post_init__(self):
        self.invariant = self.invariant or self.literal


@dataclass
class Stateful:
    """A state-holding construct (INTEG, SMOOTH, DELAY …) found inside an element."""

    index: int
    kind: str
    element: str
    init_lines: list[str] = field(default_factory=list)
    init_deps: set[str] = field(default_factory=set)
    output: str = ""
    output_deps: set[str] = field(default_factory=set)
    update_lines: list[str] = field(default_factory=list)
    commit_lines: list[str] = field(default_factory=list)
    update_deps: set[str] = field(default_factory=set)
    static: bool = False  # INITIAL: fixed after initialisation


@dataclass
class ElementInfo:
    """One model element: names, subscripts and how it is computed."""

    name: str
    py_name: str
    units: str
    documentation: str
    dims: tuple[str, ...]
    coords: dict[str, list[str]]
    kind: str = "auxiliary"  # auxiliary | stock | lookup | control
    slot: int = -1
    init_code: str = ""
    run_code: str = ""
    init_deps: set[str] = field(default_factory=set)
    run_deps: set[str] = field(default_factory=set)
    statefuls: list[int] = field(default_factory=list)
    uses_time: bool = False
    static: bool = False
    lookup_table: tuple | None = None  # (xs, ys) for lookups

    @property
    def shape(self) -> tuple[int, ...]:
        return tuple(len(self.coords[d]) for d in self.dims)


@dataclass
class Plan:
    """Everything :class:`sim.engine.model.Model` needs to run a compiled model."""

    elements: dict[str, ElementInfo]
    statefuls: list[Stateful]
    constants: list
    n_states: int
    hoisted: list[str]
    init_order: list[str]
    run_order: list[str]
    source_path: Path
    abstract_model: am.AbstractModel | None = None
    stock_flows: dict[str, object] = field(default_factory=dict)  # stock → its INTEG flow AST

    def dynamic_needed(self, outputs: list[str]) -> list[str]:
        """Dynamic elements needed each step for the states and the requested outputs."""
        needed: set[str] = set()
        stack = [d for s in self.statefuls if not s.static for d in s.update_deps]
        stack += outputs
        while stack:
            name = stack.pop()
            if name in needed:
                continue
            needed.add(name)
            stack.extend(self.elements[name].run_deps)
        return [
            name for name in self.run_order if name in needed and not self.elements[name].static
        ]


class _Context:
    """Where an expression is being compiled: its element, subscripts and mode."""

    def __init__(
        self,
        element: ElementInfo,
        local_dims: tuple[str, ...],
        mode: str,
        hoist: bool = False,
        scope: dict[str, str] | None = None,
    ):
        self.element = element
        self.scope = scope  # inside a macro copy: its names → the copy's elements
        self.local_dims = local_dims
        self.mode = mode  # "run" or "init"
        self.hoist = hoist and mode == "run"  # move time-invariant parts to initialisation
        self.deps: set[str] = set()
        self.uses_time = False


# Code that is already a single name or number: nothing to gain from hoisting it.
_TRIVIAL = re.compile(r"v\d+|h\d+|K\[\d+\]|t|_NAN|_INF|\(?-?[0-9.e+-]+\)?")


def _float_code(value: float) -> str:
    value = float(value)
    if math.isnan(value):
        return "_NAN"
    if math.isinf(value):
        return "_INF" if value > 0 else "(-_INF)"
    return repr(value)


class Compiler:
    """Turns one ``AbstractModel`` into a :class:`Plan` plus generated source."""

    def __init__(
        self, abstract_model: am.AbstractModel, path: Path, static: set[str] | None = None
    ):
        self.path = Path(path)
        # Names of the static elements, known from a first pass; with them, time-invariant
        # parts of dynamic equations are computed once (see _hoist).
        self.static_hint = static
        self.hoisted: list[str] = []
        sections = abstract_model.sections
        self.abstract_model = abstract_model
        self.section = next(s for s in sections if s.type == "main")
        # Macros are inlined: each call gets its own copy of the macro's elements.
        self.macros = {s.name: s for s in sections if s.type == "macro"}
        self._macro_calls: dict[int, str] = {}
        self._macro_copies = 0
        for sub in self.section.subscripts:
            if isinstance(sub.subscripts, dict):
                raise InputError(
                    "subscript ranges read from external files are not supported",
                    file=self.path,
                    key=sub.name,
                    expected="a subscript range listed in the model",
                )
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            self.subs = SubscriptManager(list(self.section.subscripts), self.path.parent)
        # the same dict: merging partial definitions may add ranges (as PySD does)
        self.ranges: dict[str, list[str]] = self.subs.subscripts
        self.namespace = NamespaceManager()
        self.elements: dict[str, ElementInfo] = {}
        self.statefuls: list[Stateful] = []
        self.constants: list = []
        self.n_states = 0
        self._stateful_by_node: dict[int, Stateful] = {}

    # ------------------------------------------------------------------ set-up
    def _error(self, element: str, message: str, expected: str | None = None) -> InputError:
        return InputError(message, file=self.path, key=element, expected=expected)

    def _declare_elements(self) -> list[am.AbstractElement]:
        kept = []
        for element in self.section.elements:
            components = [
                c
                for c in element.components
                if not isinstance(c, am.AbstractConstraint | am.AbstractTestInput)
            ]
            if not components:
                continue
            self.namespace.add_to_namespace(element.name)
            py_name = self.namespace.namespace[element.name]
            dims, coords = self._element_dims(element, components)
            kind = "control" if py_name in CONTROL_NAMES else "auxiliary"
            if any(isinstance(c, am.AbstractLookup) for c in components):
                kind = "lookup"
            if any(isinstance(c.ast, ae.IntegStructure) for c in components):
                kind = "stock"
            for component in components:
                if isinstance(component, am.AbstractData):
                    raise self._error(
                        element.name,
                        "data variables (GET DATA, :=) are not supported",
                        "an equation, a constant or a lookup",
                    )
            self.elements[py_name] = ElementInfo(
                name=element.name,
                py_name=py_name,
                units=element.units or "",
                documentation=element.documentation or "",
                dims=dims,
                coords=coords,
                kind=kind,
            )
            kept.append(element)
        return kept

    def _element_dims(self, element, components) -> tuple[tuple[str, ...], dict]:
        lhs = [list(c.subscripts[0]) for c in components]
        if not lhs[0]:
            return (), {}
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            dims = self.subs.make_merge_list(lhs, element.name)
        return tuple(dims), {d: list(self.ranges[d]) for d in dims}

    # ------------------------------------------------------------ compilation
    def compile(self) -> Plan:
        elements = self._declare_elements()
        for element in elements:  # tables first: calls to a lookup need its data
            info = self.elements[self.namespace.namespace[element.name]]
            if info.kind == "lookup":
                info.lookup_table = self._lookup_table(info, element.components)
        for element in elements:
            info = self.elements[self.namespace.namespace[element.name]]
            self._compile_element(element, info)
        for i, info in enumerate(self.elements.values()):
            info.slot = i
        self._classify()
        init_order = self._init_order()
        run_order = self._order(
            {n: e.run_deps for n, e in self.elements.items() if e.kind != "lookup"}, "run"
        )
        return Plan(
            elements=self.elements,
            statefuls=self.statefuls,
            constants=self.constants,
            n_states=self.n_states,
            hoisted=self.hoisted,
            init_order=init_order,
            run_order=run_order,
            source_path=self.path,
            abstract_model=self.abstract_model,
            stock_flows=self._stock_flows(elements),
        )

    def _stock_flows(self, elements: list[am.AbstractElement]) -> dict[str, object]:
        """The flow expression of every stock whose whole equation is one unsubscripted INTEG."""
        flows = {}
        for element in elements:
            info = self.elements[self.namespace.namespace[element.name]]
            components = [
                c
                for c in element.components
                if not isinstance(c, am.AbstractConstraint | am.AbstractTestInput)
            ]
            if (
                info.kind == "stock"
                and not info.dims
                and len(components) == 1
                and isinstance(components[0].ast, ae.IntegStructure)
            ):
                flows[info.py_name] = components[0].ast.flow
        return flows

    def _compile_element(
        self, element: am.AbstractElement, info: ElementInfo, scope: dict[str, str] | None = None
    ) -> None:
        components = [
            c
            for c in element.components
            if not isinstance(c, am.AbstractConstraint | am.AbstractTestInput)
        ]
        if info.kind == "lookup":
            return
        parts = {"run": [], "init": []}
        for component in components:
            lhs, excepts = component.subscripts
            local_dims = tuple(s for s in lhs if s in self.ranges)
            hoist = self.static_hint is not None and info.py_name not in self.static_hint
            for mode in ("run", "init"):
                ctx = _Context(info, local_dims, mode, hoist, scope)
                expr = self._expr(component.ast, ctx)
                code = self._conform(expr, local_dims, ctx)
                parts[mode].append((code, lhs, excepts, local_dims))
                getattr(info, f"{mode}_deps").update(ctx.deps)
                info.uses_time |= ctx.uses_time
        for mode in ("run", "init"):
            setattr(info, f"{mode}_code", self._assemble_code(info, parts[mode]))

    def _assemble_code(self, info: ElementInfo, parts) -> str:
        if not info.dims:
            if len(parts) != 1:
                raise self._error(info.name, "defined more than once without subscripts")
            return parts[0][0]
        shape = info.shape
        if len(parts) == 1:
            code, lhs, excepts, local_dims = parts[0]
            if not excepts and tuple(lhs) == info.dims:
                return f"F.fill({code}, {shape!r})"
        pieces = []
        for code, lhs, excepts, local_dims in parts:
            local_shape, dst, src = self._placement(info, lhs, excepts, local_dims)
            pieces.append(
                f"({code}, {local_shape!r}, K[{self._const(dst)}], K[{self._const(src)}])"
            )
        return f"F.assemble(N, {shape!r}, [{', '.join(pieces)}])"

    def _placement(self, info, lhs, excepts, local_dims):
        """Flat positions in the element a component fills, and which of its own go there."""
        names = [self.ranges[sub] if sub in self.ranges else [sub] for sub in lhs]
        axes = [[info.coords[info.dims[p]].index(x) for x in names[p]] for p in range(len(lhs))]
        local_shape = tuple(len(self.ranges[d]) for d in local_dims)
        grid = np.array(np.meshgrid(*axes, indexing="ij")).reshape(len(axes), -1)
        dst = np.ravel_multi_index(tuple(grid), info.shape)
        combos = np.array(np.meshgrid(*[range(len(n)) for n in names], indexing="ij"))
        combos = combos.reshape(len(lhs), -1)
        keep = np.ones(grid.shape[1], dtype=bool)
        for excluded in excepts:  # :EXCEPT: [a1, b2], … removes those combinations
            sets = [set(self.ranges[sub]) if sub in self.ranges else {sub} for sub in excluded]
            for j in range(combos.shape[1]):
                if all(names[p][combos[p, j]] in sets[p] for p in range(len(lhs))):
                    keep[j] = False
        src = np.arange(grid.shape[1])
        return local_shape, dst[keep], src[keep]

    def _const(self, value) -> int:
        self.constants.append(value)
        return len(self.constants) - 1

    # ------------------------------------------------------------ dims helpers
    def _size(self, dim: str) -> int:
        return len(self.ranges[dim.rstrip("!")])

    def _align(self, expr: Expr, target: tuple[str, ...]) -> str:
        """Code for ``expr`` laid out on the axes ``target`` (missing ones of length 1)."""
        if expr.dims == target:
            return expr.code
        if not expr.dims:
            return expr.code if expr.literal else f"F.lift({expr.code}, {len(target)})"
        present = [d for d in target if d in expr.dims]
        code = expr.code
        if present != list(expr.dims):
            perm = (0, *(expr.dims.index(d) + 1 for d in present))
            code = f"np.transpose({code}, {perm!r})"
        if len(present) != len(target):
            index = ", ".join(":" if d in expr.dims else "None" for d in target)
            code = f"{code}[:, {index}]"
        return code

    def _union(self, exprs: list[Expr]) -> tuple[str, ...]:
        dims: list[str] = []
        for expr in exprs:
            dims.extend(d for d in expr.dims if d not in dims)
        return tuple(dims)

    def _combine(
        self, template: str, exprs: list[Expr], ctx: _Context, timed: bool = False
    ) -> Expr:
        dims = self._union(exprs)
        invariant = not timed and all(e.invariant for e in exprs)
        if not invariant:
            exprs = [self._hoist(e, ctx) for e in exprs]
        codes = [self._align(e, dims) for e in exprs]
        return Expr(template.format(*codes), dims, invariant=invariant)

    def _hoist(self, expr: Expr, ctx: _Context) -> Expr:
        """Replace a time-invariant part of a dynamic equation by a value computed once."""
        if not (ctx.hoist and expr.invariant) or _TRIVIAL.fullmatch(expr.code):
            return expr
        self.hoisted.append(expr.code)
        return Expr(f"h{len(self.hoisted) - 1}", expr.dims, invariant=True)

    def _conform(self, expr: Expr, local_dims: tuple[str, ...], ctx: _Context) -> str:
        extra = [d for d in expr.dims if d not in local_dims]
        if extra:
            raise self._error(
                ctx.element.name,
                f"cannot place subscript range(s) {extra} of the expression on the "
                f"element's subscripts {list(local_dims)}",
            )
        return self._align(expr, local_dims)

    # ------------------------------------------------------------ expressions
    def _expr(self, node, ctx: _Context) -> Expr:
        if isinstance(node, bool | int | float | np.floating | np.integer):
            return Expr(_float_code(node), (), literal=True)
        if isinstance(node, np.ndarray):
            return self._array(node, ctx)
        if isinstance(node, ae.ReferenceStructure):
            return self._reference(node, ctx)
        if isinstance(node, ae.ArithmeticStructure | ae.LogicStructure):
            return self._operation(node, ctx)
        if isinstance(node, ae.CallStructure):
            return self._call(node, ctx)
        if isinstance(node, ae.InlineLookupsStructure):
            xs, ys = self._table_from(node.lookups, ctx.element.name)
            table = Expr(f"K[{self._const(ys)}]", invariant=True)
            return self._interp(self._expr(node.argument, ctx), xs, table, ctx)
        if isinstance(node, ae.GameStructure):
            return self._expr(node.expression, ctx)
        stateful_kinds = (
            ae.IntegStructure,
            ae.SmoothStructure,
            ae.SmoothNStructure,
            ae.DelayStructure,
            ae.DelayNStructure,
            ae.DelayFixedStructure,
            ae.TrendStructure,
            ae.ForecastStructure,
            ae.SampleIfTrueStructure,
            ae.InitialStructure,
        )
        if isinstance(node, stateful_kinds):
            return self._stateful(node, ctx)
        raise self._error(
            ctx.element.name,
            f"unsupported construct {_describe(node)}",
            "one of the functions listed in docs/conformance.md",
        )

    def _array(self, node: np.ndarray, ctx: _Context) -> Expr:
        dims = ctx.local_dims
        shape = tuple(self._size(d) for d in dims)
        values = np.asarray(node, dtype=float)
        if values.size != int(np.prod(shape)):
            raise self._error(ctx.element.name, "array constant does not fit its subscripts")
        return Expr(f"K[{self._const(values.reshape((1, *shape)))}]", dims, invariant=True)

    def _reference(self, node: ae.ReferenceStructure, ctx: _Context) -> Expr:
        ref = node.reference
        if ref == "time":
            ctx.uses_time = True
            return Expr("t")
        py_name = self._lookup_name(ref, ctx)
        if py_name is None:
            return self._subscript_as_number(ref, ctx)
        target = self.elements[py_name]
        if target.kind == "lookup":
            raise self._error(ctx.element.name, f"lookup '{target.name}' used without argument")
        ctx.deps.add(py_name)
        code = f"v{list(self.elements).index(py_name)}"
        subs = list(node.subscripts.subscripts) if node.subscripts else None
        invariant = self.static_hint is not None and py_name in self.static_hint
        return self._select(Expr(code, target.dims, invariant=invariant), target, subs, ctx)

    def _lookup_name(self, ref: str, ctx: _Context) -> str | None:
        """The element a name refers to: inside a macro copy its own names come first."""
        if ctx.scope is not None and ref in ctx.scope:
            return ctx.scope[ref]
        return self.namespace.cleanspace.get(ref)

    def _macro_call(self, node: ae.CallStructure, ctx: _Context) -> Expr:
        """Inline a macro: a copy of its elements, its parameters bound to the arguments."""
        name = node.function.reference
        result = self._macro_calls.get(id(node))
        if result is None:
            result = self._inline_macro(node, self.macros[name], ctx)
            self._macro_calls[id(node)] = result
        ctx.deps.add(result)
        invariant = self.static_hint is not None and result in self.static_hint
        return Expr(f"v{list(self.elements).index(result)}", (), invariant=invariant)

    def _inline_macro(self, node: ae.CallStructure, section, ctx: _Context) -> str:
        if len(node.arguments) != len(section.params):
            raise self._error(
                ctx.element.name,
                f"macro {_vensim(section.name)} takes {len(section.params)} arguments",
            )
        if ctx.local_dims:
            raise self._error(ctx.element.name, "subscripted macro calls are not supported")
        copy = self._macro_copies
        self._macro_copies += 1  # before compiling: the macro may call macros itself
        label = f"{_vensim(section.name)} #{copy}"
        scope: dict[str, str] = {}

        def declare(name: str) -> ElementInfo:
            clean = name.lower().replace(" ", "_")
            info = ElementInfo(
                name=f"{label}: {name}",
                py_name=f"__macro{copy}_{len(scope)}",
                units="",
                documentation="",
                dims=(),
                coords={},
                kind="macro",
            )
            scope[clean] = info.py_name
            self.elements[info.py_name] = info
            return info

        params = [declare(param) for param in section.params]
        elements = [e for e in section.elements if e.components]
        copies = [declare(element.name) for element in elements]
        for info, argument in zip(params, node.arguments, strict=True):
            for mode in ("run", "init"):  # the argument is an expression of the caller
                hoist = self.static_hint is not None and info.py_name not in self.static_hint
                arg_ctx = _Context(info, (), mode, hoist, ctx.scope)
                code = self._conform(self._expr(argument, arg_ctx), (), arg_ctx)
                setattr(info, f"{mode}_code", code)
                getattr(info, f"{mode}_deps").update(arg_ctx.deps)
                info.uses_time |= arg_ctx.uses_time
        for element, info in zip(elements, copies, strict=True):
            if any(c.subscripts[0] for c in element.components):
                raise self._error(label, "subscripts inside macros are not supported")
            if any(isinstance(c, am.AbstractLookup) for c in element.components):
                raise self._error(label, "lookups inside macros are not supported")
            self._compile_element(element, info, scope)
        result = scope.get(section.name)
        if result is None:
            raise self._error(label, "the macro defines no variable named like itself")
        return result

    def _select(self, expr: Expr, target: ElementInfo, subs, ctx: _Context) -> Expr:
        """Pick elements/sub-ranges of a referenced variable and name its axes."""
        if not target.dims:
            if subs:
                raise self._error(ctx.element.name, f"'{target.name}' has no subscripts")
            return expr
        if subs is None:
            subs = list(target.dims)
        if len(subs) != len(target.dims):
            raise self._error(ctx.element.name, f"wrong number of subscripts for '{target.name}'")
        out_dims: list[str] = []
        out_index: list[list[int]] = []
        for position, sub in enumerate(subs):
            axis_coords = target.coords[target.dims[position]]
            bang = sub.endswith("!")
            base = sub[:-1] if bang else sub
            if base in self.ranges:
                names = self.ranges[base]
                missing = [x for x in names if x not in axis_coords]
                if missing:
                    raise self._error(
                        ctx.element.name,
                        f"subscript range '{base}' is not part of '{target.name}'",
                    )
                out_dims.append(base + ("!" if bang else ""))
                out_index.append([axis_coords.index(x) for x in names])
            elif sub in axis_coords:
                out_index.append([axis_coords.index(sub)])
                out_dims.append("")  # dropped below
            else:
                raise self._error(ctx.element.name, f"unknown subscript '{sub}'")
        out_dims, out_index = self._match_local(out_dims, out_index, ctx)
        kept = [(d, i) for d, i in zip(out_dims, out_index, strict=True) if d]
        identity = len(kept) == len(target.dims) and all(
            i == list(range(len(target.coords[target.dims[p]])))
            for p, (_, i) in enumerate(zip(out_dims, out_index, strict=True))
        )
        dims = tuple(d for d, _ in kept)
        if identity:
            return Expr(expr.code, dims, invariant=expr.invariant)
        grid = np.meshgrid(*out_index, indexing="ij")
        flat = np.ravel_multi_index(tuple(grid), target.shape)
        squeeze = tuple(len(i) for d, i in zip(out_dims, out_index, strict=True) if d)
        flat = flat.reshape(squeeze) if squeeze else flat.reshape(())
        code = f"F.gather({expr.code}, K[{self._const(flat)}])"
        return Expr(code, dims, invariant=expr.invariant)

    def _match_local(self, dims: list[str], index: list[list[int]], ctx: _Context):
        """Rename or narrow reference axes so they line up with the element's subscripts."""
        local = list(ctx.local_dims)
        dims = list(dims)
        index = [list(i) for i in index]
        for k, dim in enumerate(dims):
            if not dim or dim.endswith("!") or dim in local:
                continue
            free = [d for d in local if d not in dims]
            coords = self.ranges[dim]
            for candidate in free:
                mapped = dim in self.subs.mapping.get(candidate, []) or candidate in (
                    self.subs.mapping.get(dim, [])
                )
                target = self.ranges[candidate]
                if mapped and len(target) == len(coords):
                    dims[k] = candidate
                    break
                if set(target) <= set(coords):
                    index[k] = [index[k][coords.index(x)] for x in target]
                    dims[k] = candidate
                    break
        return dims, index

    def _subscript_as_number(self, ref: str, ctx: _Context) -> Expr:
        """A subscript range or element used as a value: its 1-based position(s)."""
        for range_name, names in self.ranges.items():
            clean = range_name.replace(" ", "_").lower()
            if clean == ref:
                main = self._main_range(range_name)
                positions = [self.ranges[main].index(x) + 1.0 for x in names]
                array = np.array(positions).reshape((1, len(positions)))
                expr = Expr(f"K[{self._const(array)}]", (range_name,), invariant=True)
                dims, index = self._match_local([range_name], [list(range(len(names)))], ctx)
                if dims[0] != range_name:
                    narrowed = array[:, index[0]]
                    expr = Expr(f"K[{self._const(narrowed)}]", (dims[0],), invariant=True)
                return expr
        for range_name in self._main_ranges():
            clean_names = [x.replace(" ", "_").lower() for x in self.ranges[range_name]]
            if ref in clean_names:
                return Expr(_float_code(clean_names.index(ref) + 1), (), literal=True)
        raise self._error(ctx.element.name, f"unknown name '{ref}'")

    def _main_ranges(self) -> list[str]:
        return list(self.subs.subranges)

    def _main_range(self, name: str) -> str:
        for main, subranges in self.subs.subranges.items():
            if name == main or name in subranges:
                return main
        return name

    def _operation(self, node, ctx: _Context) -> Expr:
        ops = list(node.operators)
        args = [self._expr(a, ctx) for a in node.arguments]
        if len(args) == 1:
            if ops[0] == "negative":
                arg = args[0]
                return Expr(f"(-{arg.code})", arg.dims, arg.literal, arg.invariant)
            if ops[0] == ":NOT:":
                arg = args[0]
                return Expr(f"np.logical_not({arg.code})", arg.dims, invariant=arg.invariant)
            raise self._error(ctx.element.name, f"unsupported operator {ops[0]!r}")
        for op in ops:
            if op not in _BINARY:
                raise self._error(ctx.element.name, f"unsupported operator {op!r}")
        if all(op == "^" for op in ops):
            # PySD writes a^b^c as Python's a**b**c, which groups from the right, and a
            # negative number literal as the base keeps its sign outside: -2^2 = -4.
            result = args[-1]
            for op, left in zip(reversed(ops), reversed(args[:-1]), strict=True):
                if left.literal and left.code.startswith("-"):
                    positive = Expr(left.code[1:], (), literal=True)
                    power = self._combine(_BINARY[op], [positive, result], ctx)
                    result = Expr(f"(-{power.code})", power.dims, invariant=power.invariant)
                else:
                    result = self._combine(_BINARY[op], [left, result], ctx)
            return result
        result = args[0]
        for op, right in zip(ops, args[1:], strict=True):
            result = self._combine(_BINARY[op], [result, right], ctx)
        return result

    def _args(self, node: ae.CallStructure, ctx: _Context, count: int, name: str) -> list[Expr]:
        if len(node.arguments) != count:
            raise self._error(
                ctx.element.name,
                f"function {_vensim(name)} takes {count} arguments, got {len(node.arguments)}",
            )
        return [self._expr(a, ctx) for a in node.arguments]

    def _call(self, node: ae.CallStructure, ctx: _Context) -> Expr:
        name = node.function.reference
        if name in self.macros and (ctx.scope is None or name not in ctx.scope):
            return self._macro_call(node, ctx)
        py_name = self._lookup_name(name, ctx)
        if py_name is not None and self.elements[py_name].kind == "lookup":
            return self._lookup_call(node, py_name, ctx)
        if name in _UNARY_FUNCTIONS:
            (arg,) = self._args(node, ctx, 1, name)
            return Expr(f"{_UNARY_FUNCTIONS[name]}({arg.code})", arg.dims, invariant=arg.invariant)
        if name in _NARY_FUNCTIONS:
            template, count = _NARY_FUNCTIONS[name]
            return self._combine(template, self._args(node, ctx, count, name), ctx)
        if name in _TIME_FUNCTIONS:
            template, count = _TIME_FUNCTIONS[name]
            ctx.uses_time = True
            return self._combine(template, self._args(node, ctx, count, name), ctx, timed=True)
        if name == "ramp":
            ctx.uses_time = True
            count = 2 if len(node.arguments) == 2 else 3
            template = "F.ramp(t, {0}, {1})" if count == 2 else "F.ramp(t, {0}, {1}, {2})"
            return self._combine(template, self._args(node, ctx, count, name), ctx, timed=True)
        if name == "pi" and not node.arguments:
            return Expr(_float_code(math.pi), (), literal=True)
        if name in _AGGREGATIONS:
            (arg,) = self._args(node, ctx, 1, name)
            axes = tuple(i + 1 for i, d in enumerate(arg.dims) if d.endswith("!"))
            dims = tuple(d for d in arg.dims if not d.endswith("!"))
            if not axes:
                return arg
            code = f"{_AGGREGATIONS[name]}({arg.code}, axis={axes!r})"
            return Expr(code, dims, invariant=arg.invariant)
        if name == "active_initial":
            expr, initial = node.arguments
            return self._expr(initial if ctx.mode == "init" else expr, ctx)
        if name == "elmcount":
            (arg,) = node.arguments
            for range_name, names in self.ranges.items():
                if isinstance(arg, ae.ReferenceStructure) and (
                    range_name.replace(" ", "_").lower() == arg.reference
                ):
                    return Expr(_float_code(len(names)), (), literal=True)
            raise self._error(ctx.element.name, "ELMCOUNT needs a subscript range")
        raise self._error(
            ctx.element.name,
            f"unsupported function {_vensim(name)}",
            "a function listed in docs/conformance.md",
        )

    # ---------------------------------------------------------------- lookups
    def _table_from(self, lookups: ae.LookupsStructure, element: str):
        if not isinstance(lookups, ae.LookupsStructure):
            raise self._error(element, f"unsupported lookup source {_describe(lookups)}")
        if lookups.type != "interpolate":
            raise self._error(element, f"unsupported lookup type '{lookups.type}'")
        xs = np.asarray(lookups.x, dtype=float)
        ys = np.asarray(lookups.y, dtype=float)
        if len(set(xs.tolist())) != len(xs):
            raise self._error(element, "lookup has repeated x values")
        order = np.argsort(xs, kind="stable")
        return xs[order], ys[order]

    def _lookup_table(self, info: ElementInfo, components) -> tuple:
        tables = []
        for component in components:
            xs, ys = self._table_from(component.ast, info.name)
            tables.append((component.subscripts[0], xs, ys))
        if not info.dims:
            return tables[0][1], tables[0][2]
        all_x = np.unique(np.concatenate([t[1] for t in tables]))
        data = np.full((len(all_x), *info.shape), np.nan)
        for lhs, xs, ys in tables:
            axes = []
            for position, sub in enumerate(lhs):
                coords = info.coords[info.dims[position]]
                names = self.ranges[sub] if sub in self.ranges else [sub]
                axes.append([coords.index(x) for x in names])
            filled = np.interp(all_x, xs, ys)  # PySD fills a merged abscissa the same way
            index = np.ix_(range(len(all_x)), *axes)
            data[index] = filled.reshape((len(all_x),) + (1,) * len(axes))
        return all_x, data

    def _lookup_call(self, node: ae.CallStructure, py_name: str, ctx: _Context) -> Expr:
        info = self.elements[py_name]
        if len(node.arguments) != 1:
            raise self._error(ctx.element.name, f"lookup '{info.name}' takes one argument")
        xs, ys = info.lookup_table
        table = Expr(f"K[{self._const(ys)}]", info.dims, invariant=True)
        subs = list(node.function.subscripts.subscripts) if node.function.subscripts else None
        if info.dims:
            table = self._select(table, info, subs, ctx)
        return self._interp(self._expr(node.arguments[0], ctx), xs, table, ctx)

    def _interp(self, x: Expr, xs: np.ndarray, table: Expr, ctx: _Context) -> Expr:
        xs_code = f"K[{self._const(xs)}]"
        if not x.invariant:
            x = self._hoist(x, ctx)  # no-op unless x is invariant
        if not table.dims:
            code = f"F.lookup({x.code}, {xs_code}, {table.code})"
            return Expr(code, x.dims, invariant=x.invariant)
        dims = self._union([x, table])
        # The table's first axis is the abscissa, aligned like the run axis of a value.
        return Expr(
            f"F.lookup({self._align(x, dims)}, {xs_code}, {self._align(table, dims)})",
            dims,
            invariant=x.invariant,
        )

    # -------------------------------------------------------------- statefuls
    def _stateful(self, node, ctx: _Context) -> Expr:
        known = self._stateful_by_node.get(id(node))
        if known is None:
            known = self._new_stateful(node, ctx)
            self._stateful_by_node[id(node)] = known
            ctx.element.statefuls.append(known.index)
        ctx.deps |= known.output_deps
        return Expr(known.output, ctx.local_dims)

    def _sub(
        self, node, ctx: _Context, deps: set[str], mode: str = "run", hoist: bool = False
    ) -> str:
        """Compile an argument of a stateful, laid out on the element's local subscripts.

        ``hoist`` only for arguments used in the state update alone: a stateful's output is
        also read during initialisation, before hoisted values exist.
        """
        sub_ctx = _Context(ctx.element, ctx.local_dims, mode, ctx.hoist and hoist, ctx.scope)
        expr = self._hoist(self._expr(node, sub_ctx), sub_ctx)
        deps |= sub_ctx.deps
        ctx.uses_time |= sub_ctx.uses_time
        return self._conform(expr, ctx.local_dims, sub_ctx)

    def _full(self, code: str, ctx: _Context) -> str:
        shape = tuple(self._size(d) for d in ctx.local_dims)
        return f"np.array(np.broadcast_to({code}, (N, *{shape!r})), dtype=float)"

    def _new_stateful(self, node, ctx: _Context) -> Stateful:
        kind = type(node).__name__.replace("Structure", "").upper()
        st = Stateful(index=len(self.statefuls), kind=kind, element=ctx.element.name)
        self.statefuls.append(st)
        init_deps, run_deps = st.init_deps, st.update_deps
        if isinstance(node, ae.IntegStructure):
            s = self._alloc(st, 1)
            flow = self._sub(node.flow, ctx, run_deps, hoist=True)
            init = self._sub(node.initial, ctx, init_deps, "init")
            st.init_lines = [f"s{s} = {self._full(init, ctx)}"]
            st.output = f"s{s}"
            new = f"s{s} + ({flow}) * dt"
            if node.non_negative:
                new = f"np.maximum({new}, 0.0)"
            st.update_lines = [f"n{s} = {new}"]
            st.commit_lines = [f"s{s} = n{s}"]
        elif isinstance(node, ae.InitialStructure):
            s = self._alloc(st, 1)
            init = self._sub(node.initial, ctx, init_deps, "init")
            st.init_lines = [f"s{s} = {self._full(init, ctx)}"]
            st.output = f"s{s}"
            st.static = True
        elif isinstance(node, ae.SmoothStructure | ae.SmoothNStructure):
            s = self._alloc(st, 1)
            order = self._sub(node.order, ctx, init_deps, "init")
            x = self._sub(node.input, ctx, run_deps, hoist=True)
            tau = self._sub(node.smooth_time, ctx, run_deps, hoist=True)
            init = self._sub(node.initial, ctx, init_deps, "init")
            st.init_lines = [
                f"_order = F.smooth_order({order}, {st.index})",
                f"s{s} = np.repeat({self._full(init, ctx)}[None], _order, axis=0)",
            ]
            st.output = f"s{s}[-1]"
            # PySD: ddt = (targets - state) * order / smooth_time for all stages at once
            st.update_lines = [
                f"n{s} = s{s} + ((F.shift_in({x}, s{s}) - s{s}) * s{s}.shape[0] / ({tau})) * dt"
            ]
            st.commit_lines = [f"s{s} = n{s}"]
        elif isinstance(node, ae.DelayStructure | ae.DelayNStructure):
            self._delay(node, ctx, st)
        elif isinstance(node, ae.DelayFixedStructure):
            s = self._alloc(st, 2)
            x = self._sub(node.input, ctx, run_deps)
            tau = self._sub(node.delay_time, ctx, init_deps, "init")
            init = self._sub(node.initial, ctx, init_deps, "init")
            st.init_lines = [
                f"_length = F.delay_fixed_length({tau}, dt, {st.index})",
                f"s{s} = np.repeat({self._full(init, ctx)}[None], _length, axis=0)",
                f"s{s + 1} = 0",
            ]
            # a copy: the pipe is written in place when the step commits
            st.output = f"s{s}[s{s + 1}].copy()"
            st.update_lines = [f"n{s} = {x}"]
            st.commit_lines = [
                f"s{s}[s{s + 1}] = n{s}",
                f"s{s + 1} = (s{s + 1} + 1) % s{s}.shape[0]",
            ]
        elif isinstance(node, ae.TrendStructure | ae.ForecastStructure):
            s = self._alloc(st, 1)
            x = self._sub(node.input, ctx, run_deps)
            tau = self._sub(node.average_time, ctx, run_deps)
            x0 = self._sub(node.input, ctx, init_deps, "init")
            trend0 = self._sub(node.initial_trend, ctx, init_deps, "init")
            if isinstance(node, ae.TrendStructure):
                tau0 = self._sub(node.average_time, ctx, init_deps, "init")
                first = f"({x0}) / (1 + ({trend0}) * ({tau0}))"
                st.output = f"F.zidz(({x}) - s{s}, ({tau}) * np.abs(s{s}))"
            else:
                horizon = self._sub(node.horizon, ctx, run_deps)
                first = f"({x0}) / (1 + ({trend0}))"
                st.output = f"(({x}) * (1 + F.zidz(({x}) - s{s}, ({tau}) * s{s}) * ({horizon})))"
            st.init_lines = [f"s{s} = {self._full(first, ctx)}"]
            st.output_deps = set(run_deps)
            st.update_lines = [f"n{s} = s{s} + ((({x}) - s{s}) / ({tau})) * dt"]
            st.commit_lines = [f"s{s} = n{s}"]
        elif isinstance(node, ae.SampleIfTrueStructure):
            s = self._alloc(st, 1)
            cond = self._sub(node.condition, ctx, run_deps)
            x = self._sub(node.input, ctx, run_deps)
            init = self._sub(node.initial, ctx, init_deps, "init")
            st.init_lines = [f"s{s} = {self._full(init, ctx)}"]
            st.output = f"np.where({cond}, {x}, s{s})"
            st.output_deps = set(run_deps)
            st.update_lines = [f"n{s} = s{s} * 0 + np.where({cond}, {x}, s{s})"]
            st.commit_lines = [f"s{s} = n{s}"]
        # the output is read during initialisation too
        st.init_deps |= st.output_deps
        return st

    def _delay(self, node, ctx: _Context, st: Stateful) -> None:
        """DELAY1/3(I): one delay time for all stages; DELAY N: each stage keeps its own.

        The stages live in one array (stage, run, *subscripts) because PySD lowers the
        order of a delay shorter than order × TIME STEP at initialisation.
        """
        rolling = isinstance(node, ae.DelayNStructure)
        s = self._alloc(st, 2 if rolling else 1)
        run_deps, init_deps = st.update_deps, st.init_deps
        order = self._sub(node.order, ctx, init_deps, "init")
        x = self._sub(node.input, ctx, run_deps)
        tau_deps: set[str] = set()
        tau = self._sub(node.delay_time, ctx, tau_deps)
        run_deps |= tau_deps
        tau0 = self._sub(node.delay_time, ctx, init_deps, "init")
        init = self._sub(node.initial, ctx, init_deps, "init")
        st.init_lines = [
            f"_order = F.delay_order({order}, {tau0}, dt, {st.index})",
            f"s{s} = np.repeat({self._full(f'({init}) * ({tau0})', ctx)}[None], _order, axis=0)",
        ]
        if rolling:
            st.init_lines.append(
                f"s{s + 1} = np.repeat({self._full(tau0, ctx)}[None], _order, axis=0)"
            )
            st.output = f"(s{s}[-1] / s{s + 1}[0])"
            st.update_lines = [
                f"n{s + 1} = F.shift_in({tau}, s{s + 1})",
                f"_out = s{s} / n{s + 1}",
                f"n{s} = s{s} + ((F.shift_in({x}, _out) - _out) * s{s}.shape[0]) * dt",
            ]
            st.commit_lines = [f"s{s} = n{s}", f"s{s + 1} = n{s + 1}"]
        else:
            st.output = f"(s{s}[-1] / ({tau}))"
            st.output_deps = tau_deps
            st.update_lines = [
                f"_out = s{s} / ({tau})",
                f"n{s} = s{s} + ((F.shift_in({x}, _out) - _out) * s{s}.shape[0]) * dt",
            ]
            st.commit_lines = [f"s{s} = n{s}"]

    def _alloc(self, st: Stateful, count: int) -> int:
        """Reserve ``count`` state slots (s0, s1, …) for ``st``; returns the first."""
        first = self.n_states
        self.n_states += count
        return first

    # ----------------------------------------------------------------- ordering
    def _classify(self) -> None:
        """Static = computable once: no time, no evolving state, only static inputs."""
        dynamic_statefuls = {s.element for s in self.statefuls if not s.static}
        changed = True
        for info in self.elements.values():
            info.static = info.kind != "lookup" and not (
                info.uses_time
                or info.name in dynamic_statefuls
                or info.init_code != info.run_code  # ACTIVE INITIAL switches after t0
            )
        while changed:
            changed = False
            for info in self.elements.values():
                if info.static and any(not self.elements[d].static for d in info.run_deps):
                    info.static = False
                    changed = True
        for info in self.elements.values():
            if info.kind == "control" and not info.static:
                raise self._error(
                    info.name, "control variables that change in time are not supported"
                )

    def _init_order(self) -> list[str]:
        graph: dict[str, set[str]] = {}
        for name, info in self.elements.items():
            if info.kind == "lookup":
                continue
            deps = set(info.init_deps)
            for k in info.statefuls:
                deps.add(f"#state{k}")
            graph[name] = deps
        for st in self.statefuls:
            graph[f"#state{st.index}"] = set(st.init_deps)
        return self._order(graph, "initialisation")

    def _order(self, graph: dict[str, set[str]], what: str) -> list[str]:
        order: list[str] = []
        state: dict[str, int] = {}

        def visit(node: str, path: list[str]) -> None:
            mark = state.get(node)
            if mark == 2:
                return
            if mark == 1:
                cycle = [p for p in path[path.index(node) :] if not p.startswith("#")]
                names = [self.elements[p].name for p in cycle if p in self.elements]
                raise self._error(
                    names[0] if names else node,
                    f"circular {what} dependency: {' -> '.join(names)}",
                )
            state[node] = 1
            for dep in sorted(graph.get(node, ())):
                if dep in graph:
                    visit(dep, [*path, dep])
            state[node] = 2
            order.append(node)

        for node in graph:
            visit(node, [node])
        return order


def _describe(node) -> str:
    if isinstance(node, ae.CallStructure):
        return f"function {_vensim(node.function.reference)}"
    name = type(node).__name__.replace("Structure", "")
    return {
        "GetConstants": "GET XLS/DIRECT CONSTANTS",
        "GetData": "GET XLS/DIRECT DATA",
        "GetLookups": "GET XLS/DIRECT LOOKUPS",
        "AllocateAvailable": "function ALLOCATE AVAILABLE",
        "AllocateByPriority": "function ALLOCATE BY PRIORITY",
        "Data": "data series",
    }.get(name, name)


def _vensim(name: str) -> str:
    """A PySD function name as Vensim writes it: ``get_time_value`` → ``GET TIME VALUE``."""
    return name.replace("_", " ").upper()
