"""The CloudFormation template (cfn-lint clean, consistent with the code it deploys) and the Lambda code zip."""
from __future__ import annotations

import importlib
import json
import os
import re
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from cfnlint.api import lint_all, lint_file
from cfnlint.decode import decode

from clickseg_widget.workforce.custom_task_request import INFRASTRUCTURE_TEMPLATE as TEMPLATE
from clickseg_widget.workforce.custom_task_request import INVOCABLE_NAME, STACK_OUTPUTS
from clickseg_widget.workforce.lambda_package import build_lambda_zip


@pytest.fixture(scope="module")
def template():
    data, problems = decode(str(TEMPLATE))
    assert not problems
    return data


def resources(template, kind):
    return {name: r for name, r in template["Resources"].items() if r["Type"] == kind}


def test_cfn_lint_finds_nothing():
    assert [str(match) for match in lint_file(TEMPLATE)] == []


def test_cfn_lint_would_notice_a_broken_template():
    """Guards the test above: the linter is really looking."""
    broken = TEMPLATE.read_text().replace("Runtime: python3.12", "Runtime: python2.1", 1)
    assert lint_all(broken)


def test_each_handler_exists_and_its_environment_is_read_by_the_code(template):
    for name, function in resources(template, "AWS::Lambda::Function").items():
        props = function["Properties"]
        module_name, _, attribute = props["Handler"].rpartition(".")
        module = importlib.import_module(module_name)
        assert callable(getattr(module, attribute)), name
        source = Path(module.__file__).read_text()
        for variable in props.get("Environment", {}).get("Variables", {}):
            assert f'"{variable}"' in source, f"{name} sets {variable}, which {module_name} never reads"


def test_ground_truth_may_invoke_the_task_lambdas_by_name(template):
    names = {name: function["Properties"]["FunctionName"]["Fn::Sub"] for name, function in resources(template, "AWS::Lambda::Function").items()}
    assert INVOCABLE_NAME.search(names["PreAnnotationFunction"])
    assert INVOCABLE_NAME.search(names["ConsolidationFunction"])
    # 64 characters is Lambda's limit; the prefix parameter allows 30
    longest = max(len(re.sub(r"\$\{NamePrefix\}", "x" * 30, n)) for n in names.values())
    assert longest <= 64


def test_roles_grant_only_named_actions_on_named_resources(template):
    for name, role in resources(template, "AWS::IAM::Role").items():
        for policy in role["Properties"]["Policies"]:
            for statement in policy["PolicyDocument"]["Statement"]:
                actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
                assert all("*" not in action for action in actions), (name, actions)
                assert statement["Resource"] != "*", name
    proxy_actions = [s["Action"] for p in template["Resources"]["ProxyRole"]["Properties"]["Policies"] for s in p["PolicyDocument"]["Statement"]]
    assert "sagemaker:InvokeEndpoint" in proxy_actions
    assert not any("s3:" in str(action) for action in proxy_actions)


def test_outputs_are_what_the_job_builder_reads(template):
    assert set(STACK_OUTPUTS) <= set(template["Outputs"])


def test_the_lambda_zip_holds_importable_handlers_and_no_weights(tmp_path):
    archive = build_lambda_zip(tmp_path / "lambda.zip", with_dependencies=False)
    names = zipfile.ZipFile(archive).namelist()
    assert not [n for n in names if "/weights/" in n or n.endswith(".safetensors") or "__pycache__" in n]
    assert not [n for n in names if n.startswith(("clickseg_widget/models/", "clickseg_widget/widget/", "clickseg_widget/serving/"))]
    # the handlers load from the zip (dependencies from this environment)
    script = (
        "import sys, json; sys.path.insert(0, sys.argv[1]);"
        "from clickseg_widget.workforce.lambdas import pre_annotation, proxy, consolidation;"
        "assert pre_annotation.__file__.startswith(sys.argv[1]), pre_annotation.__file__;"
        "print(json.dumps(pre_annotation.handler({'dataObject': {'source-ref': 's3://b/a.jpg'}})))"
    )
    result = subprocess.run([sys.executable, "-c", script, str(archive)], capture_output=True, text=True,
                            env={**os.environ, "LABELS": '["Cat"]'}, timeout=120)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["taskInput"] == {"taskObject": "s3://b/a.jpg", "labels": ["Cat"]}
