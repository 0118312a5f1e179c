"""The run launcher configs of docs/dagster.md, loaded by Dagster itself.

Every ```yaml other=dagster.yaml block with a run_launcher goes through the
launcher class's own config schema (the validation DagsterInstance runs when
it loads dagster.yaml); ExecRunLauncher's are also instantiated. The
```yaml other=helm-values block is rendered as the Dagster Helm chart's
helpers/instance/_run-launcher.tpl renders runK8sConfig (top-level keys to
snake_case, the Kubernetes objects inside passed through) and must equal the
K8sRunLauncher block's run_k8s_config once Dagster has normalised both.
"""

from __future__ import annotations

import importlib
import re
from pathlib import Path
from typing import Any

import kubernetes.client
import pytest
import yaml
from dagster._config import process_config, resolve_to_config_type
from dagster._core.instance_for_test import instance_for_test
from dagster_k8s.models import k8s_snake_case_dict

from dagster_oidc import ExecRunLauncher

DOC = Path(__file__).parents[2] / "docs" / "dagster.md"
FENCE = re.compile(r"^```yaml (other=[\w.-]+)\n(.*?)^```$", re.M | re.S)
# runK8sConfig keys the chart maps, and the Kubernetes object each holds
HELM_RUN_K8S_CONFIG = {
    "containerConfig": ("container_config", kubernetes.client.V1Container),
    "podSpecConfig": ("pod_spec_config", kubernetes.client.V1PodSpec),
    "podTemplateSpecMetadata": ("pod_template_spec_metadata", kubernetes.client.V1ObjectMeta),
    "jobSpecConfig": ("job_spec_config", kubernetes.client.V1JobSpec),
    "jobMetadata": ("job_metadata", kubernetes.client.V1ObjectMeta),
}


def blocks(kind: str) -> list[dict[str, Any]]:
    return [yaml.safe_load(body) for k, body in FENCE.findall(DOC.read_text()) if k == f"other={kind}"]


def launchers() -> list[dict[str, Any]]:
    return [b["run_launcher"] for b in blocks("dagster.yaml") if "run_launcher" in b]


def test_every_launcher_is_documented() -> None:
    classes = sorted(rl["class"] for rl in launchers())
    assert classes == ["DockerRunLauncher", "EcsRunLauncher", "ExecRunLauncher", "K8sRunLauncher"]


@pytest.mark.parametrize("rl", launchers(), ids=lambda rl: rl["class"])
def test_launcher_config_is_valid(rl: dict[str, Any]) -> None:
    cls = getattr(importlib.import_module(rl["module"]), rl["class"])
    result = process_config(resolve_to_config_type(cls.config_type()), rl.get("config", {}))
    assert result.success, [e.message for e in result.errors or []]


def test_exec_run_launcher_loads_into_an_instance() -> None:
    (rl,) = [rl for rl in launchers() if rl["class"] == "ExecRunLauncher"]
    with instance_for_test(overrides={"run_launcher": rl}) as instance:
        launcher = instance.run_launcher
        assert isinstance(launcher, ExecRunLauncher)
        cmd = launcher.exec_command(["dagster", "api", "execute_run", "{}"], "/s.json")
        assert cmd[: cmd.index("--status-file")] == [rl["config"]["binary"], *expected_flags(rl["config"])]


def test_run_monitoring_block_makes_the_launcher_leave_dead_workers_to_the_daemon() -> None:
    """The run_monitoring block loads into an instance, and with it ExecRunLauncher
    leaves a run whose worker died for the monitoring daemon to resume
    (e2e/dagster_test.go runs the daemon with the same block)."""
    (monitoring,) = [b for b in blocks("dagster.yaml") if "run_monitoring" in b]
    (rl,) = [rl for rl in launchers() if rl["class"] == "ExecRunLauncher"]
    with instance_for_test(overrides={**monitoring, "run_launcher": rl}) as instance:
        assert instance.run_monitoring_enabled
        assert instance.run_monitoring_max_resume_run_attempts == 1
        launcher = instance.run_launcher
        assert isinstance(launcher, ExecRunLauncher) and launcher.supports_resume_run
        assert launcher._monitoring_resumes()


def expected_flags(config: dict[str, Any]) -> list[str]:
    flags = ["--profile", config["profile"]] if config.get("profile") else []
    flags.append("exec")
    flags += ["--aws"] if config.get("aws") else []
    flags += ["--gcp"] if config.get("gcp") else []
    return flags + list(config.get("exec_args", []))


def normalised_run_k8s_config(run_k8s_config: dict[str, Any]) -> dict[str, Any]:
    by_key = {snake: model for snake, model in HELM_RUN_K8S_CONFIG.values()}
    return {k: k8s_snake_case_dict(by_key[k], v) for k, v in run_k8s_config.items()}


def test_helm_values_equal_the_k8s_launcher_config() -> None:
    (values,) = blocks("helm-values")
    assert values["runLauncher"]["type"] == "K8sRunLauncher"
    helm = values["runLauncher"]["config"]["k8sRunLauncher"]["runK8sConfig"]
    rendered = {HELM_RUN_K8S_CONFIG[k][0]: v for k, v in helm.items()}
    (k8s,) = [rl for rl in launchers() if rl["class"] == "K8sRunLauncher"]
    assert normalised_run_k8s_config(rendered) == normalised_run_k8s_config(k8s["config"]["run_k8s_config"])
    # what the chart renders (it always adds its instance ConfigMap) is a valid K8sRunLauncher config
    from dagster_k8s import K8sRunLauncher

    config = {"instance_config_map": "dagster-instance", "run_k8s_config": rendered}
    result = process_config(resolve_to_config_type(K8sRunLauncher.config_type()), config)
    assert result.success, [e.message for e in result.errors or []]


def test_docs_name_the_installed_versions() -> None:
    """docs/dagster.md and README.md name the Dagster these tests ran against."""
    from dagster.version import __version__ as dagster_version
    from dagster_aws.version import __version__ as aws_version
    from dagster_docker.version import __version__ as docker_version
    from dagster_k8s.version import __version__ as k8s_version

    integrations = {k8s_version, docker_version, aws_version}
    assert len(integrations) == 1, integrations
    (integration,) = integrations
    assert (
        f"({dagster_version}, with dagster-k8s, dagster-docker and dagster-aws {integration})"
        in DOC.read_text()
    )
    readme = DOC.parents[1] / "README.md"
    assert f"pinned Dagster {dagster_version} " in readme.read_text()
