"""The house: the module graph (no cycles, readers apart from their dispatcher), one format decision for
`index` and `extract`, typed errors with fields, and a CLI that imports only what a command uses."""
from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest

import newssearch
from conftest import CORPUS, ROOT, console_script, newssearch as run_cli
from newssearch.indexer.formats import BY_NAME, FORMATS, decide_format, extension

PACKAGES = {"newssearch": ROOT / "newssearch", "newssearch.indexer": ROOT / "indexer",
            "newssearch.query": ROOT / "query", "newssearch.cli": ROOT / "cli"}
READERS = {"newssearch.indexer." + f.reader.partition(":")[0] for f in FORMATS}


def _modules() -> dict[str, Path]:
    return {(pkg if f.stem == "__init__" else f"{pkg}.{f.stem}"): f
            for pkg, folder in PACKAGES.items() for f in folder.glob("*.py")}


def _imports(name: str, path: Path) -> set[str]:
    """Every newssearch module `name` imports, at the top or inside functions (those count: a cycle broken by
    an import inside a function is still a cycle)."""
    package = name if path.stem == "__init__" else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join(package.split(".")[: len(package.split(".")) - node.level + 1] + ([base] if base else []))
            found.add(base)
            found.update(f"{base}.{a.name}" for a in node.names)
        elif isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
    return found


def _graph() -> dict[str, set[str]]:
    modules = _modules()
    # Package __init__s only re-export (lazily): an edge into one is not a dependency on its modules.
    return {m: {i for i in _imports(m, p) if i in modules and i != m and not modules[i].stem == "__init__"}
            for m, p in modules.items()}


def test_the_import_graph_has_no_cycle():
    graph = _graph()
    state: dict[str, int] = {}

    def visit(m: str, path: list[str]) -> None:
        state[m] = 1
        for n in sorted(graph[m]):
            if state.get(n) == 1:
                raise AssertionError("import cycle: " + " -> ".join(path[path.index(n):] + [n]))
            if n not in state:
                visit(n, path + [n])
        state[m] = 2

    for m in sorted(graph):
        if m not in state:
            visit(m, [m])


def test_readers_depend_on_the_shared_module_not_on_their_dispatcher():
    graph = _graph()
    assert READERS >= {"newssearch.indexer.records", "newssearch.indexer.extract", "newssearch.indexer.pagedump",
                       "newssearch.indexer.reuters"}
    for reader in READERS:
        assert "newssearch.indexer.dispatch" not in graph[reader], reader
    assert "newssearch.indexer.formats" in graph["newssearch.indexer.records"]
    # the dispatcher names readers in the table, it does not import them one by one
    assert not READERS & graph["newssearch.indexer.dispatch"]


@pytest.mark.parametrize("name,head,expected", [
    ("a/b.jsonl", None, "jsonl"), ("B.JSONL.gz", None, "jsonl"), ("x.ndjson", None, "jsonl"),
    ("export.tsv.gz", None, "csv"), ("reut2-000.sgm", None, "reuters"), ("page.html", None, "html"),
    ("dump.txt", None, "pagedump"), ("README.md", None, None), ("archive.gz", None, None),
    ("catalog.gz", None, None), ("x.tsvz", None, None),
    # the name decides; content only where the name does not
    ("page.html", b"no markup at all", "html"), ("dump.txt", b"<html><body>x", "pagedump"),
    ("saved-page", b"\xef\xbb\xbf  <!DOCTYPE html><html>", "html"), ("saved-page", b"Headline\n\nText", "pagedump"),
])
def test_one_format_decision(name, head, expected):
    fmt = decide_format(name, head)
    assert (fmt.name if fmt else None) == expected


def test_extension_strips_the_gz_suffix_not_its_letters():
    # rstrip(".gz") strips characters: "catalog.gz" became "catalo", "x.tsvz.gz" looked like ".tsv"
    assert extension("catalog.gz") == "" and extension("x.tsvz.gz") == ".tsvz" and extension("A.TSV.GZ") == ".tsv"


def test_tsv_gz_is_read_as_tab_separated(tmp_path):
    import gzip

    from newssearch.indexer.dispatch import read_file

    # commas outnumber tabs in the sample: only the name says it is tab-separated
    body = "Prices rose, fell, rose again, and then, as traders expected, fell, closing lower, again."
    path = tmp_path / "export.tsv.gz"
    path.write_bytes(gzip.compress(f"title\tbody\nOil, gas and coal\t{body}\n".encode()))
    (article,) = list(read_file(path))
    assert article.title == "Oil, gas and coal" and article.body == body


def test_adding_a_format_is_one_table_entry():
    assert all(f.load_reader() for f in FORMATS)
    assert BY_NAME["html"].family == BY_NAME["pagedump"].family == "page"


def test_index_and_extract_read_a_page_alike(tmp_path):
    from newssearch.indexer.dispatch import read_file

    page = CORPUS / "pages" / "dumps" / "cnn.txt"
    (indexed,) = list(read_file(page))
    shown = json.loads(run_cli("extract", page, "--json").stdout)[0]
    assert shown["title"] == indexed.title and shown["body"] == indexed.body


@pytest.mark.parametrize("path", ["reuters/reuters-1987-02.jsonl", "bbc/bbc-news-2004-2005.csv",
                                  "reuters/reuters-1987-03.jsonl.gz"])
def test_extract_refuses_an_export_with_a_message(path):
    proc = run_cli("extract", CORPUS / path, check=False)
    assert proc.returncode == 1 and proc.stdout == ""
    assert f"{CORPUS / path}:" in proc.stderr and "holds many articles" in proc.stderr
    assert "newssearch index" in proc.stderr


# --- errors ------------------------------------------------------------------------------------------------
def test_errors_are_exported_classes_with_fields(corpus_index, tmp_path):
    from newssearch import Archive, ArticleNotFound, IndexNotFound, IndexUnusable, NewssearchError, QueryError

    archive = Archive.open(corpus_index)
    with pytest.raises(QueryError) as err:
        archive.search("oil", limit=0)
    assert err.value.parameter == "limit" and "out of range" in err.value.message
    assert str(err.value) == f"limit: {err.value.message}" and isinstance(err.value, ValueError)
    with pytest.raises(QueryError) as err:
        archive.search("oil", date_from="yesterday")
    assert err.value.parameter == "from"
    with pytest.raises(ArticleNotFound) as missing:
        archive.related("no-such-article")
    assert missing.value.article_id == "no-such-article" and isinstance(missing.value, KeyError)
    assert str(missing.value) == "no article with id 'no-such-article'"
    with pytest.raises(IndexNotFound) as nothing:
        Archive.open(tmp_path / "none")
    assert nothing.value.path == str(tmp_path / "none")
    assert issubclass(IndexNotFound, IndexUnusable) and issubclass(IndexUnusable, NewssearchError)
    assert issubclass(QueryError, NewssearchError) and issubclass(ArticleNotFound, NewssearchError)


def test_no_message_is_parsed_for_its_parameter():
    for path in [*ROOT.glob("*/*.py"), *ROOT.glob("tests/*.py")]:
        if path.name != Path(__file__).name:
            assert 'str(exc).partition(":")' not in path.read_text(), path


def test_cli_names_the_option_of_a_bad_parameter(corpus_index):
    proc = run_cli("query", "oil", "--index", corpus_index, "--from", "yesterday", check=False)
    assert proc.returncode == 2 and "--from" in proc.stderr and "not a date" in proc.stderr


# --- start-up ----------------------------------------------------------------------------------------------
HEAVY = ("numba", "llvmlite", "trafilatura", "fastapi", "uvicorn", "tqdm")


def _modules_loaded(*args: str) -> set[str]:
    """The modules the real console script had imported when it exited, run with these arguments."""
    script = console_script()
    code = ("import atexit, json, runpy, sys\n"
            "atexit.register(lambda: print('MODULES=' + json.dumps(sorted(sys.modules)), file=sys.stderr))\n"
            f"sys.argv = {[script, *args]!r}\n"
            f"runpy.run_path({script!r}, run_name='__main__')\n")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    line = next(l for l in proc.stderr.splitlines() if l.startswith("MODULES="))
    return {m.split(".")[0] for m in json.loads(line[len("MODULES="):])}


def test_help_stats_and_query_never_import_numba(corpus_index):
    """Nor numpy (related posts' arrays), trafilatura (extract), the server or tqdm (progress bars)."""
    help_loaded = _modules_loaded("--help")
    assert not help_loaded & {*HEAVY, "tantivy", "numpy"}, help_loaded & {*HEAVY, "tantivy", "numpy"}
    for args in (["stats", "--index", str(corpus_index)], ["query", "oil prices", "--index", str(corpus_index)]):
        loaded = _modules_loaded(*args)
        assert "tantivy" in loaded  # it did run
        assert not loaded & {*HEAVY, "numpy"}, (args, loaded & {*HEAVY, "numpy"})
    assert "numba" in _modules_loaded("related", "reuters-21578:2", "--index", str(corpus_index))


def test_compile_notice_speaks_once_when_numba_compiles():
    import numba

    from newssearch.query.related import compile_notice

    @numba.njit(cache=False)
    def twice(x):
        return x * 2

    said = []
    with compile_notice(lambda: said.append(1)):
        assert twice(2) == 4 and twice(2.5) == 5.0  # two compilations, one notice
    assert said == [1]
    with compile_notice(lambda: said.append(2)):
        twice(3)  # already compiled: nothing to say
    assert said == [1]


def test_the_package_exports_lazily():
    assert {"Archive", "build_index", "extract", "QueryError", "ArticleNotFound", "IndexBusy"} <= set(newssearch.__all__)
    assert all(getattr(newssearch, name) for name in newssearch.__all__)
    with pytest.raises(AttributeError):
        newssearch.no_such_name  # noqa: B018
