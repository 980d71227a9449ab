"""The service repository template: what a new source repository starts with.

``Dockerfile`` (stages build, test, runtime), ``test.sh``, ``skaffold.yaml`` (profiles dev and
prod) and ``README.md``. No pipeline: the one pipeline of every service (:func:`pipeline_script`,
``templates/pipeline/Jenkinsfile``) lives in the Jenkins job seed writes, its settings are the
job's parameters (:func:`job_parameters`), so nothing a tag carries can change it. Rendered with Jinja2 from
``templates/service``; the same input gives the same bytes.
"""

from __future__ import annotations

import re
from importlib import resources

import jinja2

from dockyard.catalogue import mirror_image_ref
from dockyard.seed import content, names
from dockyard.spec.model import Platform, Project, Service

TEMPLATES = "templates/service"
PIPELINE = "templates/pipeline/Jenkinsfile"
DEFAULT_BASE_IMAGE = "docker.io/library/alpine:3.22"
IMAGE_TAG_TEXT = {
    "commit": "the short commit SHA (8 characters)",
    "build-number": "the Jenkins build number",
    "datetime": "the build's UTC date and time (YYYYmmdd-HHMMSS)",
}


def _template_dir() -> resources.abc.Traversable:
    return resources.files("dockyard.seed").joinpath(TEMPLATES)


def glob_to_regex(pattern: str) -> str:
    """A tag glob as an anchored Java/Python regex: '*' is any text (also '/'), '?' one character."""
    parts = []
    for ch in pattern:
        parts.append(".*" if ch == "*" else "." if ch == "?" else re.escape(ch))
    return "^" + "".join(parts) + "$"


def pipeline_script() -> str:
    """The pipeline seed writes into every service's Jenkins job (inline, run in the Groovy sandbox)."""
    return resources.files("dockyard.seed").joinpath(PIPELINE).read_text(encoding="utf-8")


def base_image(platform: Platform) -> str:
    return mirror_image_ref(DEFAULT_BASE_IMAGE, platform.mirror_registry) if platform.airgap else DEFAULT_BASE_IMAGE


def job_parameters(platform: Platform, project: Project, service: Service) -> dict[str, str]:
    """The Jenkins job's string parameters the Jenkinsfile reads (defaults used by webhook builds)."""
    ci = platform.ci
    return {
        "IMAGE": platform.image_repository(project, service),
        "SERVICE": service.name,
        "SOURCE_REPO": names.source_repo_url(platform, project, service),
        "BUILD_NAMESPACE": ci.build_namespace_of(project.name),
        "BUILD_SERVICE_ACCOUNT": names.BUILD_SERVICE_ACCOUNT,
        "BUILD_TAG_REGEX": glob_to_regex(ci.build_tag),
        "RELEASE_TAG_REGEX": glob_to_regex(ci.release_tag),
        "IMAGE_TAG_SCHEME": ci.image_tag,
        "DEPLOY_REPO": platform.deploy_repo_url(project),
        "DEPLOY_BRANCH": names.DEFAULT_BRANCH,
        "BUMP_ENV": platform.bump_env,
        "VALUES_FILE": content.values_path(platform.bump_env, service.name),
    }


def render(platform: Platform, project: Project, service: Service) -> dict[str, bytes]:
    """The files of a new source repository for ``service`` (path -> bytes)."""
    env = jinja2.Environment(undefined=jinja2.StrictUndefined, keep_trailing_newline=True, autoescape=False)  # noqa: S701 (not HTML)
    ci = platform.ci
    context = {
        "project": project.name,
        "service": service.name,
        "port": service.port,
        "image": platform.image_repository(project, service),
        "base_image": base_image(platform),
        "build_tag": ci.build_tag,
        "release_tag": ci.release_tag,
        "image_tag_text": IMAGE_TAG_TEXT[ci.image_tag],
        "jenkins_job": names.jenkins_job(project, service),
        "deploy_repo": platform.deploy_repo_path(project),
        "values_path": content.values_path(platform.bump_env, service.name),
        "bump_env": platform.bump_env,
    }
    files: dict[str, bytes] = {}
    for entry in sorted(_template_dir().iterdir(), key=lambda e: e.name):
        text = entry.read_text(encoding="utf-8")
        if entry.name.endswith(".j2"):
            files[entry.name[: -len(".j2")]] = env.from_string(text).render(context).encode()
        else:
            files[entry.name] = text.encode()
    return files
