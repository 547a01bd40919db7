"""--junit-xml on vpgd verify / check / claims: the files parse, follow the JUnit schema CI
systems read (Jenkins junit-10: testsuites > testsuite > testcase > failure | error |
skipped), and agree case by case with the command's own JSON or with the checker; a
failing check / certificate / claim appears as a <failure> with its numbers."""
import json
import re
import xml.etree.ElementTree as ET

import pytest

from verified_pgd import cli, junit
from verified_pgd.claim_points import fmt

# ----------------------------------------------------------------- the schema, as rules

_TIME = re.compile(r"(([0-9]{0,3},)*[0-9]{3}|[0-9]{0,3})*(\.[0-9]*)?")   # SUREFIRE_TIME
_SUITES_ATTRS = {"name", "time", "tests", "failures", "errors"}
_SUITE_REQUIRED = {"name", "tests", "failures", "errors"}
_SUITE_ATTRS = _SUITE_REQUIRED | {"group", "time", "skipped", "timestamp", "hostname", "id",
                                  "package", "file", "log", "url"}
_CASE_ATTRS = {"name", "time", "classname", "group"}
_CASE_CHILDREN = {"skipped", "error", "failure", "system-out", "system-err"}


def validate(root):
    """Check ``root`` against the junit-10 schema's rules and its counts; return the
    testcases.  Raises AssertionError naming the rule broken."""
    assert root.tag == "testsuites", root.tag
    assert set(root.attrib) <= _SUITES_ATTRS, root.attrib
    cases = []
    for suite in root:
        assert suite.tag == "testsuite", suite.tag
        assert _SUITE_REQUIRED <= set(suite.attrib) <= _SUITE_ATTRS, suite.attrib
        if "time" in suite.attrib:
            assert _TIME.fullmatch(suite.get("time")), suite.get("time")
        mine = []
        for tc in suite:
            assert tc.tag in {"testcase", "properties", "system-out", "system-err"}, tc.tag
            if tc.tag != "testcase":
                continue
            assert "name" in tc.attrib and set(tc.attrib) <= _CASE_ATTRS, tc.attrib
            if "time" in tc.attrib:
                assert _TIME.fullmatch(tc.get("time")), tc.get("time")
            for child in tc:
                assert child.tag in _CASE_CHILDREN, child.tag
                if child.tag in ("failure", "error", "skipped"):
                    assert set(child.attrib) <= {"type", "message"}, child.attrib
            mine.append(tc)

        def count(tag):
            return sum(tc.find(tag) is not None for tc in mine)
        assert int(suite.get("tests")) == len(mine)
        assert int(suite.get("failures")) == count("failure")
        assert int(suite.get("errors")) == count("error")
        assert int(suite.get("skipped", "0")) == count("skipped")
        cases += mine
    for key, tag in (("tests", None), ("failures", "failure"), ("errors", "error")):
        if key in root.attrib:
            want = len(cases) if tag is None else sum(tc.find(tag) is not None for tc in cases)
            assert int(root.get(key)) == want, key
    return cases


def _parse(path):
    return validate(ET.parse(path).getroot())


def test_the_validator_rejects_what_the_schema_rejects():
    good = junit.build("s", [junit.Case("c", "a"), junit.Case("c", "b", "failure", "m"),
                             junit.Case("c", "d", "skipped", "why")], time=1.0)
    assert len(validate(good)) == 3
    bad_count = junit.build("s", [junit.Case("c", "a")], time=1.0)
    bad_count[0].set("failures", "1")
    bad_time = junit.build("s", [junit.Case("c", "a", time=1.0)], time=1.0)
    bad_time[0].set("time", "1e-05")
    no_name = junit.build("s", [junit.Case("c", "a")], time=1.0)
    del no_name[0][0].attrib["name"]
    stray = junit.build("s", [junit.Case("c", "a")], time=1.0)
    ET.SubElement(stray[0][0], "assertion")
    for doc in (bad_count, bad_time, no_name, stray):
        with pytest.raises(AssertionError):
            validate(doc)


def test_tiny_and_huge_times_stay_fixed_point():
    root = junit.build("s", [junit.Case("c", "a", time=1e-9), junit.Case("c", "b", time=1e7)],
                       time=1e-9)
    validate(root)
    assert [tc.get("time") for tc in root.iter("testcase")] == ["0.000", "10000000.000"]


def test_text_xml_cannot_carry_is_replaced_not_written():
    root = junit.build("s\x01", [junit.Case("c", "a\x00b", "failure", "m\x07", "t<&>")], 1.0)
    back = ET.fromstring(ET.tostring(root))           # parses: nothing illegal was written
    assert back.find(".//failure").text == "t<&>"
    assert "\x00" not in back.find(".//testcase").get("name")


# ----------------------------------------------------------------- vpgd verify

def _verify(capsys, tmp_path, *extra):
    out = tmp_path / "verify.xml"
    rc = cli.main(["verify", "--quick", "--json", "--junit-xml", str(out), *extra])
    report = json.loads(capsys.readouterr().out)
    return rc, report, _parse(out)


def test_verify_junit_agrees_with_its_json(capsys, tmp_path):
    rc, report, cases = _verify(capsys, tmp_path)
    assert rc == 0
    assert [tc.get("name") for tc in cases] == [c["check"] for c in report["checks"]]
    assert all(tc.find("failure") is None for tc in cases)


def test_verify_negative_control_failures_appear_as_failure_elements(capsys, tmp_path):
    rc, report, cases = _verify(capsys, tmp_path, "--inject-fault", "grad-sign")
    assert rc == 1
    failed = {c["check"]: c for c in report["checks"] if not c["passed"]}
    assert failed
    got = {tc.get("name"): tc.find("failure") for tc in cases if tc.find("failure") is not None}
    assert set(got) == set(failed)
    for name, el in got.items():           # the numbers of the check
        assert f"max error {failed[name]['max_error']:.6g}" in el.get("message")
        assert f"tolerance {failed[name]['tolerance']:.6g}" in el.get("message")


# ----------------------------------------------------------------- vpgd check

def test_check_junit_one_case_per_required_lemma_and_a_tampered_one_fails(tmp_path, capsys):
    from proofs_check import checker
    from proofs_check.mutate import mutations
    certs = tmp_path / "certs"
    assert cli.main(["prove", "--out", str(certs), "--random", "0", "--no-symbolic",
                     "--digits", "20", "--quiet"]) == 0
    files = sorted(f for f in certs.glob("*.json") if f.name != checker.MANIFEST)
    target = files[-1]
    _, tampered = next(mutations(json.loads(target.read_text())))
    target.write_text(json.dumps(tampered))
    assert not checker.check_file(str(target))[0]           # the checker rejects it
    oracle = checker.check_set(str(certs))                  # the checker's own verdicts
    msg = {f.name: f.message for f in oracle.files}
    capsys.readouterr()
    out = tmp_path / "check.xml"
    assert cli.main(["check", str(certs), "--junit-xml", str(out)]) == 1
    cases = _parse(out)
    want = [(f"vpgd.check.{r.problem}", k, verdict) for r in oracle.problems
            for verdict, ks in (("holds", r.holds), ("fails", r.fails), ("missing", r.missing))
            for k in ks]
    assert [(tc.get("classname"), tc.get("name")) for tc in cases] == [w[:2] for w in want]
    assert any(v == "fails" for *_, v in want) and any(v == "holds" for *_, v in want)
    for tc, (cls, kind, verdict) in zip(cases, want):
        el = tc.find("failure")
        assert (el is None) == (verdict == "holds")
        if verdict == "fails":
            assert el.get("message") == msg[f"{cls.split('.')[-1]}.{kind}.json"].splitlines()[0]
        if verdict == "missing":                # --no-symbolic: the symbolic lemmas are named
            assert cls == "vpgd.check.symbolic" and "missing" in el.get("message")


# ----------------------------------------------------------------- vpgd claims

CLAIMS = """
[[claim]]
name = "barrier small"
quantity = "barrier"
relation = "<="
bound = "C * s**2 * a_norm**2"
constants = { C = 0.0372 }
[claim.grid]
k = [2, 3]

[[claim]]
name = "barrier tiny"
quantity = "barrier"
relation = "<="
bound = "C * s**2 * a_norm**2"
constants = { C = 0.01 }
[claim.grid]
k = [2]

[[claim]]
name = "tiny success"
quantity = "success_probability"
relation = ">="
bound = "1 - delta"
chains = 3
[claim.grid]
k = [2]
[claim.params]
eta = 0.4
eps = 1e-2
delta = 0.5
"""


def test_claims_junit_agrees_with_its_json_and_carries_the_numbers(tmp_path, capsys):
    f = tmp_path / "c.toml"
    f.write_text(CLAIMS)
    out = tmp_path / "claims.xml"
    assert cli.main(["claims", str(f), "--json", "--junit-xml", str(out)]) == 1
    results = json.loads(capsys.readouterr().out)
    cases = _parse(out)
    assert len(cases) == len(results) == 4
    assert [r["verdict"] for r in results] == ["holds", "holds", "violated", "undecided"]
    for tc, r in zip(cases, results):
        assert tc.get("name").startswith(r["claim"] + " [")
        assert float(tc.get("time")) >= 0
        el = tc.find("failure")
        assert (el is None) == (r["verdict"] == "holds")     # undecided fails, as the exit code
        if el is not None:
            assert el.get("type") == r["verdict"]
            assert f"{r['relation']} {fmt(r['bound'])}" in el.get("message")
            assert f"[{fmt(r['value'][0])}, {fmt(r['value'][1])}]" in el.get("message")
            assert f"consistent constant: {'-' if r['limit'] is None else ''}" in el.text
    assert f"C >= {fmt(results[2]['limit'])}" in cases[2].find("failure").text


@pytest.mark.parametrize("command", [["verify", "--quick"], ["claims", "x.toml"],
                                     ["check", "."]])
def test_junit_path_in_a_missing_directory_is_a_user_error_before_any_work(
        command, tmp_path, capsys):
    rc = cli.main(command + ["--junit-xml", str(tmp_path / "no" / "such" / "f.xml")])
    assert rc == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "--junit-xml" in err[0] and "does not exist" in err[0]


def test_junit_path_empty_or_a_directory_is_a_user_error(tmp_path, capsys):
    for bad, words in (("", "empty path"), (str(tmp_path), "is a directory")):
        assert cli.main(["claims", "x.toml", "--junit-xml", bad]) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and "--junit-xml: " in err[0] and words in err[0], err
