"""kg query --limit / --offset (checked integers, never text from the user) and output streamed as rows come."""

from __future__ import annotations

import io
import sys
from pathlib import Path

import pyoxigraph as ox
import pytest

from kg.dataset import Dataset
from kg.errors import QueryError
from kg.query import catalog, formats
from kg.query.text import paged

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "benchmarks"))
import synth  # noqa: E402


def test_a_page_is_the_slice_of_the_ordered_rows_on_every_engine(dataset):
    every = dataset.run("trial-summary").rows
    assert len(every) > 10
    for engine in ("oxigraph", "rdflib"):
        page = dataset.run("trial-summary", engine=engine, limit=4, offset=3).rows
        assert page == every[3:7], engine
    assert dataset.run("trial-summary", offset=len(every)).rows == []
    assert dataset.run("trial-summary", limit=0).rows == []


@pytest.mark.parametrize("bad", ["5", "1 } DROP ALL", 2.0, True, -1, 10**13])
def test_limit_and_offset_are_checked_integers_never_text(bad):
    with pytest.raises(QueryError, match="whole number"):
        paged("SELECT * WHERE { ?s ?p ?o }", bad)
    with pytest.raises(QueryError, match="whole number"):
        paged("SELECT * WHERE { ?s ?p ?o }", None, bad)


def test_a_query_with_its_own_page_or_a_trailing_values_block_is_refused_not_rewritten():
    with pytest.raises(QueryError, match="its own LIMIT"):
        paged("SELECT * WHERE { ?s ?p ?o } limit 3", 1)
    with pytest.raises(QueryError, match="VALUES block"):
        paged("SELECT * WHERE { ?s ?p ?o } VALUES ?s { <urn:a> }", 1)
    # the words in a string, an IRI or a comment are not the query's own
    text = 'SELECT * WHERE { ?s <urn:limit> "offset 3" } # LIMIT 9'
    assert paged(text, 2).endswith("# LIMIT 9\nLIMIT 2")


def test_a_sub_select_limit_is_not_the_query_s_own_page():
    """trials-by-drug caps its seeded sub-select with a LIMIT: the query's page is still the user's to choose."""
    text = "SELECT * { { SELECT ?s WHERE { ?s ?p ?o } LIMIT 1000 } ?s ?q ?x } ORDER BY ?s"
    assert paged(text, 2, 4).endswith("ORDER BY ?s\nLIMIT 2\nOFFSET 4")
    with pytest.raises(QueryError, match="its own LIMIT"):
        paged(text + " LIMIT 5", 2)


def test_kg_query_pages_a_query_with_a_capped_sub_select(kg):
    every = kg("query", "trials-by-drug", "--param", "drug=NCIT:C1851", "--format", "csv")
    page = kg(
        "query", "trials-by-drug", "--param", "drug=NCIT:C1851", "--limit", "2", "--offset", "1", "--format", "csv"
    )
    assert every.returncode == 0 and page.returncode == 0, page.stderr
    rows = every.stdout.splitlines()
    assert len(rows) > 3 and page.stdout.splitlines() == rows[:1] + rows[2:4]


def test_kg_query_pages_and_refuses_in_one_line(kg, tmp_path):
    r = kg("query", "trial-summary", "--limit", "2", "--offset", "1", "--format", "csv")
    assert r.returncode == 0, r.stderr
    assert len(r.stdout.strip().splitlines()) == 3, "a header and two rows"
    own = tmp_path / "own.rq"
    own.write_text("SELECT ?s WHERE { ?s ?p ?o } LIMIT 3\n")
    r = kg("query", "--file", str(own), "--limit", "1")
    assert r.returncode == 2 and len(r.stderr.strip().splitlines()) == 1 and "its own LIMIT" in r.stderr
    r = kg("query", "trial-summary", "--offset", "-1")
    assert r.returncode == 2


class Recorder(io.BytesIO):
    """A binary output that remembers how many writes it got."""

    def __init__(self):
        super().__init__()
        self.writes = 0

    def write(self, data):
        self.writes += 1
        return super().write(data)


@pytest.fixture(scope="module")
def larger(tmp_path_factory):
    folder = tmp_path_factory.mktemp("corpus")
    synth.generate(20, seed=2, out=folder)
    return Dataset.from_paths([folder])


def test_a_streamed_table_is_one_aligned_table_with_the_row_count_at_the_end(larger, monkeypatch):
    """The engine's rows go to a spool file, so the table is aligned as a whole without being held in memory."""
    query = catalog.get("resources")
    params = {"namespace": larger.base}
    whole = larger.run(query, params)
    rows = len(whole.rows)
    assert rows > 600
    monkeypatch.setenv("COLUMNS", "400")  # wide enough: aligned columns, one header
    out = Recorder()
    larger.write(query, params, "table", out)
    text = out.getvalue().decode()
    assert text == formats.render(whole, "table"), "the same table as the whole result gives"
    assert text.count("\nresource ") + text.startswith("resource ") == 1 and text.endswith(f"({rows} rows)\n")
    monkeypatch.setenv("COLUMNS", "40")  # too narrow: a block per row, numbered through
    out = Recorder()
    larger.write(query, params, "table", out)
    text = out.getvalue().decode()
    assert "-- row 301 " in text and f"-- row {rows} " in text and text.count("-- row 1 ") == 1


def test_w3c_formats_stream_from_the_engine_and_match_the_whole_result(larger):
    query = catalog.get("resources")
    params = {"namespace": larger.base}
    out = Recorder()
    larger.write(query, params, "csv", out)
    assert out.writes > 1, "written in pieces as the engine finds rows, not as one block at the end"
    assert len(out.getvalue().decode().strip().splitlines()) == 1 + len(larger.run(query, params).rows)
    json = Recorder()
    larger.write(query, params, "json", json)
    parsed = ox.parse_query_results(json.getvalue(), format=ox.QueryResultsFormat.JSON)
    assert len(list(parsed)) == len(larger.run(query, params).rows)
    tsv = Recorder()
    larger.write(query, params, "tsv", tsv, limit=5)
    assert len(tsv.getvalue().decode().strip().splitlines()) == 6
