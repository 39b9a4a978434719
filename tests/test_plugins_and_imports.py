"""Third-party node packages via entry points; the headless path imports no widget libraries; the API surface."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import nbflow

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def plugin_site(tmp_path_factory) -> Path:
    """Install the tiny plugin package (a real pip install) into its own target folder."""
    target = tmp_path_factory.mktemp("site")
    p = subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-build-isolation",
                        "--target", str(target), str(ROOT / "tests" / "data" / "plugin_pkg")],
                       capture_output=True, text=True, timeout=300)
    assert p.returncode == 0, p.stderr
    return target


def _env(extra_path: Path | None = None) -> dict[str, str]:
    paths = [str(ROOT)] + ([str(extra_path)] if extra_path else [])
    return {**os.environ, "PYTHONPATH": os.pathsep.join(paths)}


def _probe(code: str) -> str:
    """What ``python -c code`` prints in a fresh process on this checkout (it must exit 0)."""
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, env=_env(),
                       timeout=120)
    assert p.returncode == 0, p.stderr
    return p.stdout


def test_installed_plugin_node_is_listed_and_runs(plugin_site: Path, tmp_path: Path):
    p = subprocess.run([sys.executable, "-m", "nbflow", "nodes", "--json"], capture_output=True, text=True,
                       env=_env(plugin_site), timeout=120)
    assert p.returncode == 0, p.stderr
    shout = {n["type"]: n for n in json.loads(p.stdout)}["shout"]
    assert shout["origin"] == "plugin shout (nbflow_shout.nodes)"
    assert shout["inputs"] == {"text": "text"}

    flow = {"nbflow": 1, "name": "plugin", "nodes": [
        {"id": "t", "type": "input.text"}, {"id": "s", "type": "shout", "params": {"marks": 3}},
        {"id": "o", "type": "output"}],
        "edges": [{"from": "t.value", "to": "s.text"}, {"from": "s.text", "to": "o.value"}]}
    path = tmp_path / "plugin.json"
    path.write_text(json.dumps(flow))
    p = subprocess.run([sys.executable, "-m", "nbflow", "run", str(path), "-i", "t=héllo", "--json"],
                       capture_output=True, text=True, env=_env(plugin_site), timeout=120)
    assert p.returncode == 0, p.stderr
    assert json.loads(p.stdout)["outputs"] == {"o": "HÉLLO!!!"}

    # without the plugin installed, the same file is a clear validation error
    p = subprocess.run([sys.executable, "-m", "nbflow", "run", str(path)], capture_output=True, text=True,
                       env=_env(), timeout=120)
    assert p.returncode == 2
    assert p.stderr.strip() == f"nbflow: error: {path}: node 's': unknown node type 'shout'; `nbflow nodes` lists the known types"


def test_broken_plugin_is_reported_not_fatal(tmp_path: Path):
    dist = tmp_path / "broken_nodes-1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: broken-nodes\nVersion: 1.0\n")
    (dist / "entry_points.txt").write_text("[nbflow.nodes]\nbroken = no_such_module_xyz\n")
    p = subprocess.run([sys.executable, "-m", "nbflow", "nodes"], capture_output=True, text=True,
                       env=_env(tmp_path), timeout=120)
    assert p.returncode == 0
    assert "nbflow: warning: plugin broken (no_such_module_xyz): ModuleNotFoundError" in p.stderr
    assert "  llm " in p.stdout


HEAVY = ("ipywidgets", "ipycanvas", "ipykernel", "IPython", "psycopg")


@pytest.mark.parametrize("code", [
    "import nbflow",
    "import nbflow.engine, nbflow.providers, nbflow.cli",
    "import nbflow; nbflow.load('examples/product_copy.json').run()",
    "from nbflow.cli import main; main(['run', 'examples/product_copy.json', '-q'])",
])
def test_headless_path_never_imports_widget_libraries(code: str):
    probe = f"{code}\nimport sys\nprint('HEAVY=' + ','.join(m for m in {HEAVY!r} if m in sys.modules))"
    out = _probe(probe)
    assert out.strip().splitlines()[-1] == "HEAVY="


def test_public_api_is_sorted_and_importable():
    names = nbflow.__all__
    assert names == sorted(names)
    for name in names:
        if name != "Editor":  # lazily imported: needs the widget libraries
            assert getattr(nbflow, name) is not None
    assert issubclass(nbflow.FlowError, nbflow.NbflowError)
    assert issubclass(nbflow.ProviderError, nbflow.NodeError)


#: What ``import nbflow`` must leave for first use: pydantic (with the flow-file models and every params
#: model), the provider catalog and clients, HTTP, schema validation, the run history, built-in node types,
#: package metadata, the widget libraries. An import-set check, not a timing: ``bench/peers.py`` times it.
NOT_AT_IMPORT = ("pydantic", "pydantic_core", "nbflow.model.spec", "nbflow.model.io", "nbflow.nodes.params",
                 "nbflow.providers.catalog", "nbflow.providers.provider", "nbflow.providers.secrets",
                 "httpx", "jsonschema", "sqlite3", "nbflow.store", "nbflow.recording", "nbflow.providers.http",
                 "nbflow.providers.openai", "nbflow.nodes.ai_nodes", "nbflow.nodes.io_nodes",
                 "nbflow.nodes.control_subflow", "nbflow.mcp", "importlib.metadata", "tempfile", *HEAVY)


def test_import_nbflow_loads_only_what_a_run_needs():
    probe = ("import sys, nbflow\n"
             f"print('LOADED=' + ','.join(m for m in {NOT_AT_IMPORT!r} if m in sys.modules))\n"
             "built = [c.__name__ for c in (nbflow.model.FlowSpec, nbflow.model.NodeSpec, nbflow.Params)\n"
             "         if c.__pydantic_complete__]\n"
             "print('BUILT=' + ','.join(built))\n"
             "print('LAZY=' + str(nbflow.open_store is not None and 'nbflow.store' in sys.modules))")
    out = _probe(probe)
    assert out.split() == ["LOADED=", "BUILT=", "LAZY=True"]


def test_import_nbflow_imports_no_other_module():
    """``import nbflow`` names the API and imports nothing else: not the engine, not asyncio, not typing.
    Each name imports its module on first use, and ``nbflow.<subpackage>`` still works as it did when the
    import loaded the subpackages."""
    probe = ("import sys\nbefore = set(sys.modules)\nimport nbflow\n"
             "print('NEW=' + ','.join(sorted(set(sys.modules) - before)))\n"
             "print('DIR=' + str(set(nbflow.__all__) <= set(dir(nbflow))))\n"
             "from nbflow import Flow, NbflowError\n"
             "print('NAMES=' + str(nbflow.Flow is Flow and 'asyncio' in sys.modules and 'nbflow.flow' in sys.modules))\n"
             "print('SUB=' + str(nbflow.model.FlowSpec is nbflow.model.spec.FlowSpec))\n"
             "try:\n    nbflow.no_such_name\nexcept AttributeError as exc:\n    print('MISSING=' + str(exc).replace(' ', '_'))\n")
    out = _probe(probe)
    assert out.split() == ["NEW=nbflow,nbflow.lazy", "DIR=True", "NAMES=True", "SUB=True",
                                "MISSING=module_'nbflow'_has_no_attribute_'no_such_name'"]


#: What a first run of input -> template -> output must not import: the node types it does not use (the AI
#: nodes and, with them, the provider clients and prompt tools; the control and data nodes' models), HTTP.
NOT_IN_A_PLAIN_RUN = ("nbflow.nodes.ai_nodes", "nbflow.nodes.control_nodes", "nbflow.nodes.control_loops",
                      "nbflow.nodes.control_conditions", "nbflow.nodes.data_nodes", "nbflow.nodes.list_nodes",
                      "nbflow.nodes.mcp_nodes", "nbflow.providers.offline", "nbflow.providers.openai",
                      "nbflow.providers.anthropic", "nbflow.providers.http", "nbflow.providers.models",
                      "nbflow.providers.structured", "nbflow.providers.templating", "nbflow.providers.tokens",
                      "nbflow.mcp", "nbflow.providers.catalog", "nbflow.providers.secrets", "httpx", "jsonschema")


def test_first_flow_loads_the_models_it_needs_and_no_http():
    """What ``import nbflow`` leaves out arrives on first use, and only the node types a run looks up load."""
    probe = ("import sys, nbflow\n"
             "f = nbflow.Flow('t')\n"
             "f.add('input.text', id='a', default='x')\n"
             "f.add('template', id='t', template='hi {{name}}')\n"
             "f.add('output', id='out')\n"
             "f.connect('a.value', 't.name')\n"
             "f.connect('t.text', 'out.value')\n"
             "assert f.run().outputs == {'out': 'hi x'}\n"
             f"print('UNNEEDED=' + ','.join(m for m in {NOT_IN_A_PLAIN_RUN!r} if m in sys.modules))\n"
             "print('LOADED=' + ','.join(m for m in ('pydantic', 'nbflow.model.spec', 'nbflow.nodes.io_nodes',\n"
             "                                       'nbflow.nodes.text_nodes') if m in sys.modules))\n"
             "print('PARAMS=' + str(issubclass(nbflow.Params, __import__('pydantic').BaseModel)))\n"
             "m = nbflow.model.spec\n"  # built in code: the flow file's validators are not needed
             "print('BUILT=' + ','.join(c.__name__ for c in (m.FlowSpec, m.NodeSpec, m.EdgeSpec, m.Position)\n"
             "                          if c.__pydantic_complete__))\n"
             "print('ALL=' + str(len(nbflow.registry.types())) + str('nbflow.nodes.ai_nodes' in sys.modules))")
    out = _probe(probe)
    from nbflow.nodes.registry import BUILTIN_TYPES

    assert out.split() == ["UNNEEDED=", "LOADED=pydantic,nbflow.model.spec,nbflow.nodes.io_nodes,nbflow.nodes.text_nodes",
                                "PARAMS=True", "BUILT=", f"ALL={len(BUILTIN_TYPES)}True"]
