"""The import contracts (pyproject's [tool.importlinter], run by `make lint`) hold, and
our own contract really finds a cycle between modules, however it hides."""

from __future__ import annotations

import grimp
from importlinter.cli import lint_imports

from tests.helpers.import_contracts import module_cycles


def graph(imports: list[tuple[str, str]]) -> grimp.ImportGraph:
    built = grimp.ImportGraph()
    for importer, imported in imports:
        built.add_import(importer=importer, imported=imported)
    return built


class TestModuleCycles:
    def test_a_cycle_through_three_modules_is_found(self):
        found = module_cycles(
            graph([("app.a", "app.b"), ("app.b", "app.c"), ("app.c", "app.a"), ("app.c", "app.d")]),
            ["app"],
        )
        assert found == [["app.a", "app.b", "app.c"]]

    def test_imports_one_way_are_no_cycle(self):
        assert module_cycles(graph([("app.a", "app.b"), ("app.a", "app.c")]), ["app"]) == []

    def test_modules_outside_the_packages_are_not_counted(self):
        assert module_cycles(graph([("app.a", "ext.b"), ("ext.b", "app.a")]), ["app"]) == []


def test_the_project_keeps_every_contract():
    assert lint_imports() == 0
