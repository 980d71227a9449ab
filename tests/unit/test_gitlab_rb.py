"""The gitlab.rb roles/tools/gitlab writes: valid Ruby (Debian's ruby -c) and only keys that
omnibus-gitlab's gitlab.rb.template has; the settings the spec asks for are there."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.standins.gitlab import gitlab_rb

ROOT = Path(__file__).resolve().parents[2]
ROLE = ROOT / "roles" / "tools" / "gitlab"
TEMPLATE = ROOT / "tests" / "reference" / "gitlab" / "omnibus" / "gitlab.rb.template"
TEMPLATE_J2 = ROLE / "templates" / "gitlab.rb.j2"
KNOWN = gitlab_rb.template_keys(TEMPLATE.read_text(encoding="utf-8"))

pytestmark = pytest.mark.skipif(not shutil.which("ruby"), reason="needs Debian's ruby (scripts/setup.sh installs it)")


def render(tmp_path: Path, extra: dict[str, object]) -> str:
    """gitlab.rb as the role templates it (the role's defaults and vars, Ansible's templating)."""
    out = tmp_path / "gitlab.rb"
    play = [
        {
            "hosts": "localhost",
            "connection": "local",
            "gather_facts": False,
            "vars_files": [str(ROLE / "defaults" / "main.yml"), str(ROLE / "vars" / "main.yml")],
            "vars": {
                "ansible_python_interpreter": sys.executable,
                "dockyard_domain": "platform.example.com",
                "dockyard_address": "192.0.2.10",
            },
            "tasks": [
                {
                    "name": "Render",
                    "ansible.builtin.copy": {
                        "content": f"{{{{ lookup('ansible.builtin.template', '{TEMPLATE_J2}') }}}}",
                        "dest": str(out),
                        "mode": "0600",
                    },
                }
            ],
        }
    ]
    (tmp_path / "play.yml").write_text(yaml.safe_dump(play))
    (tmp_path / "extra.json").write_text(json.dumps(extra))  # extra vars: above the role's files
    playbook = str(Path(sys.executable).parent / "ansible-playbook")
    proc = subprocess.run(
        [playbook, "-i", "localhost,", "-e", f"@{tmp_path / 'extra.json'}", str(tmp_path / "play.yml")],
        capture_output=True,
        text=True,
        check=False,
        cwd=ROOT,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return out.read_text(encoding="utf-8")


def test_template_keys_are_read_from_the_reference() -> None:
    for key in ("external_url", "letsencrypt.enable", "gitlab_rails.nginx.ssl_certificate", "registry.enable"):
        assert key in KNOWN
    assert "gitlab_rails.no_such_setting" not in KNOWN


def test_default_gitlab_rb_is_ruby_with_known_keys_only(tmp_path: Path) -> None:
    text = render(tmp_path, {})
    assert gitlab_rb.problems(text, KNOWN) == []
    keys = dict((k, n) for n, k in gitlab_rb.keys_set(text))
    for key in (
        "external_url",
        "letsencrypt.enable",
        "gitlab_rails.nginx.ssl_certificate",
        "gitlab_rails.nginx.ssl_certificate_key",
        "registry.enable",
        "gitlab_rails.monitoring_whitelist",
        "gitlab_rails.backup_path",
        "puma.worker_processes",
    ):
        assert key in keys, key
    assert "external_url 'https://gitlab.platform.example.com'" in text
    assert "letsencrypt['enable'] = false" in text
    assert "registry['enable'] = false" in text
    assert "'192.0.2.10/32'" in text
    assert "'/etc/gitlab/ssl/gitlab.platform.example.com.crt'" in text
    assert "initial_root_password" not in text  # given once as GITLAB_ROOT_PASSWORD, never kept in gitlab.rb
    assert "smtp" not in text


def test_smtp_settings_are_known_keys_and_the_password_comes_from_the_vault(tmp_path: Path) -> None:
    smtp = {
        "enable": True,
        "address": "smtp.example.com",
        "port": 587,
        "user_name": "gitlab",
        "password_key": "gitlab.smtp_password",
        "domain": "",
        "authentication": "login",
        "enable_starttls_auto": True,
        "tls": False,
        "email_from": "",
    }
    text = render(tmp_path, {"gitlab_smtp": smtp, "dockyard_render_root": str(tmp_path)})
    assert gitlab_rb.problems(text, KNOWN) == []
    assert "gitlab_rails['smtp_password'] = '<vault:gitlab.smtp_password>'" in text
    assert "gitlab_rails['smtp_address'] = 'smtp.example.com'" in text


def test_quotes_in_values_stay_ruby(tmp_path: Path) -> None:
    text = render(tmp_path, {"gitlab_postgresql_shared_buffers": "256MB' ; system('x') ; '"})
    assert gitlab_rb.problems(text, KNOWN) == []
    assert "system(" in text and "= '256MB\\' ; system" in text


def test_the_checker_catches_bad_ruby_and_unknown_keys() -> None:
    bad = "external_url 'https://x'\ngitlab_rails['no_such_setting'] = true\nnginx['enable'] = (\n"
    found = gitlab_rb.problems(bad, KNOWN)
    assert any("not valid Ruby" in p for p in found)
    assert any("gitlab_rails.no_such_setting: not a setting" in p for p in found)


def test_the_checker_runs_as_the_standin_runs_it(tmp_path: Path) -> None:
    (tmp_path / "keys.json").write_text(json.dumps(sorted(KNOWN)))
    (tmp_path / "gitlab.rb").write_text("letsencrypt['enable'] = false\nregistry['nope'] = 1\n")
    proc = subprocess.run(
        [sys.executable, gitlab_rb.__file__, str(tmp_path / "gitlab.rb"), str(tmp_path / "keys.json")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 1 and "registry.nope: not a setting" in proc.stderr
