"""An import-linter contract of our own: no module imports itself, however far round.

import-linter's own ``acyclic_siblings`` works on packages, and our domains rightly
refer to each other's models. A cycle between *modules* is the fault we want to keep
out: it is usually hidden by an import inside a function, and it is what made the
error handlers, the templates and the access rules depend on each other. grimp's
graph counts imports inside functions too, so such a cycle cannot hide from it.
"""

from __future__ import annotations

import grimp
from importlinter import Contract, ContractCheck, fields, output


def module_cycles(graph: grimp.ImportGraph, packages: list[str]) -> list[list[str]]:
    """Each set of modules that import one another, round and round (Tarjan's strongly
    connected components, iteratively), in a stable order."""
    modules = sorted(
        m for m in graph.modules if any(m == p or m.startswith(p + ".") for p in packages)
    )
    inside = set(modules)
    edges = {m: sorted(graph.find_modules_directly_imported_by(m) & inside) for m in modules}
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    cycles: list[list[str]] = []
    for root in modules:
        if root in index:
            continue
        work = [(root, 0)]
        while work:
            node, position = work.pop()
            if position == 0:
                index[node] = low[node] = len(index)
                stack.append(node)
                on_stack.add(node)
            if position < len(edges[node]):
                work.append((node, position + 1))
                nxt = edges[node][position]
                if nxt not in index:
                    work.append((nxt, 0))
                elif nxt in on_stack:
                    low[node] = min(low[node], index[nxt])
                continue
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    cycles.append(sorted(component))
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
    return sorted(cycles)


class AcyclicModulesContract(Contract):
    type_name = "acyclic_modules"

    packages = fields.ListField(subfield=fields.StringField())

    def check(self, graph: grimp.ImportGraph, verbose: bool) -> ContractCheck:
        cycles = module_cycles(graph, list(self.packages))  # type: ignore[arg-type]
        return ContractCheck(kept=not cycles, metadata={"cycles": cycles})

    def render_broken_contract(self, check: ContractCheck) -> None:
        for cycle in check.metadata["cycles"]:
            output.print_error("These modules import one another: " + " <-> ".join(cycle))
            output.new_line()
