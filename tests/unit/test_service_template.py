"""The service repository template: the Jenkinsfile, skaffold.yaml and Dockerfile checked structurally."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from dockyard.seed import names, service_template
from dockyard.spec.model import Platform
from dockyard.spec.validate import build

ROOT = Path(__file__).resolve().parents[2]


def platform(**changes: Any) -> Platform:
    spec = yaml.safe_load((ROOT / "inventories/platform/group_vars/all/dockyard.yml").read_text())
    spec.update(changes)
    return build(spec)


@pytest.fixture
def files() -> dict[str, str]:
    p = platform()
    project = p.projects[0]
    rendered = {k: v.decode() for k, v in service_template.render(p, project, project.services[0]).items()}
    assert "Jenkinsfile" not in rendered  # the pipeline lives in the Jenkins job, not in the repository
    return {**rendered, "Jenkinsfile": service_template.pipeline_script()}


# --------------------------------------------------------------------------- a Groovy reader
def groovy_tokens(text: str) -> list[str]:
    """Braces, words and string literals of Groovy source; comments dropped. Enough to check the
    block structure of a declarative pipeline."""
    tokens: list[str] = []
    i = 0
    while i < len(text):
        if text.startswith("//", i):
            i = text.index("\n", i) if "\n" in text[i:] else len(text)
        elif text.startswith("/*", i):
            i = text.index("*/", i) + 2
        elif text.startswith("'''", i) or text.startswith('"""', i):
            end = text.index(text[i : i + 3], i + 3)
            tokens.append(text[i : end + 3])
            i = end + 3
        elif text[i] in "'\"":
            quote, j = text[i], i + 1
            while text[j] != quote:
                j += 2 if text[j] == "\\" else 1
            tokens.append(text[i : j + 1])
            i = j + 1
        elif text[i] in "{}()":
            tokens.append(text[i])
            i += 1
        elif text[i].isalnum() or text[i] == "_":
            j = i
            while j < len(text) and (text[j].isalnum() or text[j] == "_"):
                j += 1
            tokens.append(text[i:j])
            i = j
        else:
            i += 1
    return tokens


def blocks(tokens: list[str]) -> dict[str, Any]:
    """Nested ``name { ... }`` blocks; ``stage('X')`` becomes ``stage:X``."""

    def parse(pos: int) -> tuple[list[tuple[str, Any]], int]:
        found: list[tuple[str, Any]] = []
        while pos < len(tokens):
            tok = tokens[pos]
            if tok == "}":
                return found, pos + 1
            if tok == "{":
                name = tokens[pos - 1] if pos else ""
                if name == ")":  # stage('Build') {
                    k = pos - 1
                    while tokens[k] != "(":
                        k -= 1
                    name = f"{tokens[k - 1]}:{tokens[k + 1].strip(chr(39))}"
                inner, pos = parse(pos + 1)
                found.append((name, inner))
                continue
            pos += 1
        return found, pos

    tree, end = parse(0)
    assert end == len(tokens), "unbalanced braces"
    return {"children": tree}


def child(node: list[tuple[str, Any]], name: str) -> list[tuple[str, Any]]:
    matches = [inner for n, inner in node if n == name]
    assert len(matches) == 1, f"expected one {name} block, found {len(matches)}"
    return matches[0]


def test_jenkinsfile_is_a_declarative_pipeline_with_its_stages(files: dict[str, str]) -> None:
    text = files["Jenkinsfile"]
    tokens = groovy_tokens(text)
    assert tokens.count("{") == tokens.count("}")
    tree = blocks(tokens)["children"]
    pipeline = child(tree, "pipeline")
    kubernetes = child(child(pipeline, "agent"), "kubernetes")
    assert kubernetes == []  # settings only, no nested blocks
    stages = child(pipeline, "stages")
    assert [n for n, _ in stages] == ["stage:Checkout", "stage:Build", "stage:Test", "stage:Archive", "stage:Release"]
    for name in ("stage:Archive", "stage:Release"):
        when = child(child(stages, name), "when")
        assert when == []
    release = child(stages, "stage:Release")
    assert [n for n, _ in child(release, "stages")] == ["stage:Push", "stage:Bump"]
    assert child(child(release, "agent"), "kubernetes") == []
    for name in ("stage:Checkout", "stage:Build", "stage:Test"):
        assert not [n for n, _ in child(stages, name) if n == "when"], f"{name} must run for every tag"


def test_jenkinsfile_agent_and_credentials_are_the_ones_seed_creates(files: dict[str, str]) -> None:
    text = files["Jenkinsfile"]
    assert re.search(r"kubernetes \{\s*cloud '" + names.CLOUD + r"'\s*inheritFrom '" + names.POD_TEMPLATE + "'", text)
    assert re.search(
        r"kubernetes \{\s*cloud '" + names.CLOUD + r"'\s*inheritFrom '" + names.RELEASE_POD_TEMPLATE + "'", text
    )
    assert "defaultContainer 'buildah'" in text
    assert set(re.findall(r"credentialsId: '([^']+)'", text)) == {names.HARBOR_CREDENTIAL, names.GITLAB_CREDENTIAL}
    assert "container('git')" in text
    assert "docker " not in text.replace("docker://", "")  # daemonless: buildah only


def test_jenkinsfile_reads_only_the_parameters_the_job_defines(files: dict[str, str]) -> None:
    p = platform()
    project = p.projects[0]
    params = service_template.job_parameters(p, project, project.services[0])
    text = files["Jenkinsfile"]
    used = set(re.findall(r"params\.([A-Z_]+)", text))
    shell_vars = set(re.findall(r"\$\{?([A-Z][A-Z_]+)", text))
    pipeline_env = {"GIT_TAG", "SHORT_SHA", "RELEASE", "IMAGE_TAG", "HARBOR_USER", "HARBOR_PASSWORD", "DEPLOY_KEY"}
    jenkins_env = {"BUILD_NUMBER", "GIT_SSH_COMMAND", "PWD", "GITLAB_KNOWN_HOSTS"}  # the last: release pod template
    assert used <= set(params)
    assert shell_vars - pipeline_env - jenkins_env <= set(params), shell_vars - pipeline_env - jenkins_env - set(params)
    for scheme in ("build-number", "datetime"):
        assert f"case '{scheme}'" in text


def test_the_bump_edits_image_tag_of_the_first_environment_values_file() -> None:
    p = platform()
    project = p.projects[0]
    params = service_template.job_parameters(p, project, project.services[0])
    assert params["VALUES_FILE"] == "envs/dev/cart/values.yaml"
    assert params["BUMP_ENV"] == "dev"
    assert params["DEPLOY_REPO"] == "git@gitlab.platform.example.com:shop/shop-deploy.git"
    assert params["IMAGE"] == "harbor.platform.example.com/shop/cart"


def test_tag_rules_come_from_the_spec() -> None:
    p = platform(dockyard_ci={"build_tag": "ci-*", "release_tag": "v?.*", "image_tag": "datetime"})
    project = p.projects[0]
    params = service_template.job_parameters(p, project, project.services[0])
    assert params["BUILD_TAG_REGEX"] == r"^ci\-.*$" and params["IMAGE_TAG_SCHEME"] == "datetime"
    assert re.match(params["RELEASE_TAG_REGEX"], "v1.2.3")
    assert not re.match(params["RELEASE_TAG_REGEX"], "release/1")


@pytest.mark.parametrize(
    ("pattern", "tag", "matches"),
    [
        ("release/*", "release/1.0", True),
        ("release/*", "release/a/b", True),
        ("release/*", "releases/1", False),
        ("release/*", "x-release/1", False),
        ("build/*", "build/", True),
        ("v?.*", "v1.2", True),
        ("v?.*", "v12.2", False),
        ("a.b", "axb", False),
    ],
)
def test_glob_to_regex(pattern: str, tag: str, matches: bool) -> None:
    assert bool(re.match(service_template.glob_to_regex(pattern), tag)) is matches


def test_skaffold_has_dev_and_prod_profiles_building_the_harbor_image(files: dict[str, str]) -> None:
    doc = yaml.safe_load(files["skaffold.yaml"])
    image = "harbor.platform.example.com/shop/cart"
    assert doc["apiVersion"] == "skaffold/v4beta11" and doc["kind"] == "Config"
    assert doc["metadata"]["name"] == "cart"
    assert [a["image"] for a in doc["build"]["artifacts"]] == [image]
    assert [p["name"] for p in doc["profiles"]] == ["dev", "prod"]
    profiles = {p["name"]: p for p in doc["profiles"]}
    assert profiles["dev"]["build"]["local"]["push"] is False
    assert profiles["prod"]["build"]["local"]["push"] is True
    assert profiles["prod"]["build"]["tagPolicy"] == {"gitCommit": {"variant": "AbbrevCommitSha"}}
    stages = set(re.findall(r"^FROM \S+ AS (\S+)$", files["Dockerfile"], re.MULTILINE))
    for section in (doc["build"], profiles["dev"]["build"], profiles["prod"]["build"]):
        for artifact in section["artifacts"]:
            assert artifact["image"] == image
            assert artifact["docker"]["target"] in stages
            assert artifact["docker"]["dockerfile"] == "Dockerfile"
    assert [t["image"] for t in doc["test"]] == [image]


def test_dockerfile_stages_port_and_base_image(files: dict[str, str]) -> None:
    text = files["Dockerfile"]
    assert re.findall(r"^FROM \S+ AS (\S+)$", text, re.MULTILINE) == ["build", "test", "runtime"]
    assert "EXPOSE 8080" in text
    assert "ARG BASE_IMAGE=docker.io/library/alpine:3.22" in text
    assert "sh ./test.sh" in text and "test.sh" in files


def test_air_gapped_templates_take_the_base_image_from_the_mirror() -> None:
    p = platform(dockyard_airgap=True)
    project = p.projects[0]
    text = service_template.render(p, project, project.services[0])["Dockerfile"].decode()
    assert "ARG BASE_IMAGE=mirror.platform.example.com:5000/docker.io/library/alpine:3.22" in text


def test_rendering_is_deterministic() -> None:
    p = platform()
    project = p.projects[0]
    assert service_template.render(p, project, project.services[1]) == service_template.render(
        p, project, project.services[1]
    )


def test_readme_names_the_tag_rules_and_the_values_file(files: dict[str, str]) -> None:
    text = files["README.md"]
    assert "`build/*`" in text and "`release/*`" in text and "envs/dev/cart/values.yaml" in text
