"""`--json`: real output of every command, checked against the JSON Schema in docs/."""

from __future__ import annotations

import json

import jsonschema
import pytest

from conftest import assert_output_schema, require_tools, run_buildtool


def document(*args: str) -> dict:
    result = run_buildtool(*args, "--json")
    assert "Traceback" not in result.stderr, result.stderr
    return json.loads(result.stdout)


def test_the_schema_catches_a_document_that_drifts():
    good = {"schema_version": 2, "ok": True, "target": "el9", "files": ["/tmp/fuel.repo"]}
    assert_output_schema(good, "release-files")
    for bad in ({**good, "schema_version": 1}, {**good, "surprise": 1},
                {key: value for key, value in good.items() if key != "files"}):
        with pytest.raises(jsonschema.ValidationError):
            assert_output_schema(bad, "release-files")


def test_manifest_commands_and_the_error_document(chain, tmp_path):
    assert_output_schema(document("validate", "-m", str(chain)), "validate")
    assert_output_schema(document("list", "-m", str(chain)), "list")
    assert_output_schema(document("render", "-m", str(chain), "-t", "el9", "-t", "leap-16",
                                  "--build-dir", str(tmp_path / "build")), "render")
    failed = document("repo", "-m", str(tmp_path / "missing.yaml"))
    assert failed["ok"] is False and failed["exit_status"] == 2
    assert_output_schema(failed, "error")


@pytest.mark.integration
def test_build_publish_repo_and_repository_commands(chain, workdirs, tmp_path):
    require_tools("rpmbuild", "createrepo_c")
    dist = workdirs[-1]
    built = document("build", "-m", str(chain), "--backend", "rpmbuild", *workdirs)
    assert built["ok"] and built["targets"]["el9"]["packages"]["chain-a"]["status"] == "built"
    assert_output_schema(built, "build")
    published = document("publish", "-m", str(chain), *workdirs)
    assert published["ok"] and published["targets"]["el9"]["changed"]
    assert_output_schema(published, "publish")
    chain.write_text(chain.read_text().replace('version: "1.0"', 'version: "1.1"'))
    repo = document("repo", "-m", str(chain), "--backend", "rpmbuild", *workdirs)
    assert repo["ok"] and repo["targets"]["el9"]["publish"]["changed"]
    assert_output_schema(repo, "repo")

    snapshots = document("snapshots", "--dist-dir", dist)
    assert [s["current"] for s in snapshots["targets"]["el9"]] == [False, True]
    assert_output_schema(snapshots, "snapshots")
    back = document("rollback", "--dist-dir", dist)
    assert back["targets"]["el9"]["current"] == snapshots["targets"]["el9"][0]["id"]
    assert_output_schema(back, "rollback")
    files = document("release-files", "--dist-dir", dist, "--out", str(tmp_path / "release"))
    assert_output_schema(files, "release-files")
