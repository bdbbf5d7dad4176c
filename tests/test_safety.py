"""Issue 12: kg as a publisher and a public endpoint, attacked on loopback with real processes.

One test (or more) per defect of the issue, each named after what broke; every
one of them failed before the fix (5ea938a) where the defect applies. Nothing
here leaves loopback: listening sockets that must receive nothing stand in for
the hosts an attacker would reach.
"""
from __future__ import annotations


def one_line(text: str) -> bool:
    return len(text.strip().splitlines()) == 1


# ---------------------------------------------------------------- 1. kg publish never deletes what it did not write

def test_publish_refuses_a_folder_with_user_files(kg, tmp_path):
    site = tmp_path / "s"
    site.mkdir()
    (site / "n.txt").write_text("keep")
    r = kg("publish", "--static", str(site))
    assert r.returncode == 5 and one_line(r.stderr), r.stderr
    assert "n.txt" in r.stderr
    assert (site / "n.txt").read_text() == "keep"
    assert sorted(p.name for p in site.iterdir()) == ["n.txt"], "nothing was added either"
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".s.")], "no half-built site is left beside it"


def test_publish_keeps_a_git_folder(kg, tmp_path):
    site = tmp_path / "s"
    (site / ".git").mkdir(parents=True)
    (site / ".git" / "config").write_text("[core]\n")
    r = kg("publish", "--static", str(site))
    assert r.returncode == 5 and one_line(r.stderr), r.stderr
    assert (site / ".git" / "config").read_text() == "[core]\n"


def test_publish_refuses_the_working_directory_with_user_files(kg, tmp_path):
    work = tmp_path / "work"
    work.mkdir()
    (work / "notes.md").write_text("mine")
    (work / "src").mkdir()
    (work / "src" / "a.py").write_text("print(1)")
    r = kg("publish", "--static", ".", cwd=work)
    assert r.returncode == 5 and one_line(r.stderr), r.stderr
    assert (work / "notes.md").read_text() == "mine" and (work / "src" / "a.py").read_text() == "print(1)"
    assert sorted(p.name for p in work.iterdir()) == ["notes.md", "src"]


def test_publish_into_an_empty_folder_and_over_its_own_site(kg, tmp_path):
    site = tmp_path / "site"
    site.mkdir()
    inode = site.stat().st_ino
    r = kg("publish", "--static", str(site))
    assert r.returncode == 0, r.stderr
    assert site.stat().st_ino == inode, "an empty folder keeps its identity"
    assert (site / "index.html").exists() and (site / ".trialkg-site.json").exists()
    r = kg("publish", "--static", str(site))
    assert r.returncode == 0, "kg publish replaces its own earlier output: " + r.stderr
    (site / "CNAME").write_text("example.org")
    r = kg("publish", "--static", str(site))
    assert r.returncode == 5 and "CNAME" in r.stderr, "a file the user added is never deleted"
    assert (site / "CNAME").read_text() == "example.org"
