"""The package's import graph: one direction of flow (docs/design.md, Rules), checked on every run.

grimp reads every import statement of the package, including those inside functions.
"""

from __future__ import annotations

import graphlib

import grimp
import pytest

LIFECYCLE = ("lab.config", "lab.topology", "lab.render", "lab.machines", "lab.provision",
             "lab.settle", "lab.probe", "lab.up", "lab.down", "lab.status", "lab.leftovers",
             "lab.heal", "lab.reconfigure", "lab.engines", "lab.images")


@pytest.fixture(scope="module")
def graph():
    return grimp.build_graph("lab")


def test_no_import_cycles(graph):
    imports = {m: graph.find_modules_directly_imported_by(m) for m in graph.modules}
    try:
        list(graphlib.TopologicalSorter(imports).static_order())
    except graphlib.CycleError as exc:
        # graphlib lists each module before the one it is imported by: reverse it
        pytest.fail(f"import cycle: {' imports '.join(reversed(exc.args[1]))}")


@pytest.mark.parametrize("module", LIFECYCLE)
def test_lifecycle_never_imports_chaos(graph, module):
    chain = graph.find_shortest_chain(importer=module, imported="lab.chaos",
                                      as_packages=True)
    assert chain is None, " -> ".join(chain)


def test_chaos_never_imports_the_report(graph):
    chain = graph.find_shortest_chain(importer="lab.chaos", imported="lab.report",
                                      as_packages=True)
    assert chain is None, " -> ".join(chain)


@pytest.mark.parametrize("top", ["lab.workshop", "lab.matrix"])
@pytest.mark.parametrize("module", ["lab.chaos", "lab.report", *LIFECYCLE])
def test_only_the_cli_and_the_bench_use_the_workshop_and_the_matrix(graph, module, top):
    """The workshop and the matrix sit on top: they drive chaos and the lifecycle;
    nothing below knows they exist (their pages' record types live in the one run
    record)."""
    chain = graph.find_shortest_chain(importer=module, imported=top,
                                      as_packages=True)
    assert chain is None, " -> ".join(chain)


def test_nothing_but_the_cli_imports_the_bench(graph):
    """The bench is the top: it drives everything else; a measurement is found through
    its registry, never imported by the code it measures."""
    package = {"lab.bench", *graph.find_descendants("lab.bench")}
    importers = {m for target in package for m in graph.find_modules_that_directly_import(target)}
    assert importers - package == {"lab.cli"}


def test_the_measures_import_nothing_of_the_lab_above_them(graph):
    """The measures are the bottom layer: the configuration validates ``[slo]`` against
    them, so they must not reach back into the configuration, chaos or anything else."""
    package = {"lab.measures", *graph.find_descendants("lab.measures")}
    for module in package:
        beyond = {m for m in graph.find_modules_directly_imported_by(module)
                  if m.startswith("lab") and m not in package}
        assert not beyond, f"{module} imports {sorted(beyond)}"
    assert "lab.measures" in graph.find_modules_directly_imported_by("lab.config")


def test_imports_inside_functions_are_seen(graph):
    """(The CLI imports chaos lazily: the graph must still have the edge.)"""
    assert "lab.chaos.campaign" in graph.find_modules_directly_imported_by("lab.cli")


def test_the_modules_shipped_to_load_workers_import_nothing_else_of_the_lab(graph):
    """A remote Locust worker gets the locustfile and these modules only: each of them
    must import nothing of the package beyond the list (measured: a new import broke the
    workers with ImportError while every local test passed)."""
    from lab.load_workers import LAB_MODULES

    shipped = {"lab" if m == "__init__.py" else f"lab.{m.removesuffix('.py')}"
               for m in LAB_MODULES}
    shipped |= {d for m in LAB_MODULES if not m.endswith(".py")  # a package: all of it
                for d in graph.find_descendants(f"lab.{m}")}
    for module in shipped:
        beyond = {m for m in graph.find_modules_directly_imported_by(module)
                  if m.startswith("lab") and m not in shipped}
        assert not beyond, f"{module} imports {sorted(beyond)}: add them to LAB_MODULES"
