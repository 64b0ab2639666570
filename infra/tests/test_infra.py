"""Checks of the Terraform module without a Terraform binary (`make test-infra`).

- every .tf under infra/ parses (python-hcl2);
- the wiring matches the Rust code: table keys, TTL and index against meli-aws / meli-core, the stream
  filters against meli_core::keys, a crate with a main.rs for each function, and each function's
  environment equal to what its crate's Config::from_env reads (crates/<crate>/src/config.rs);
- IAM: no wildcard action and no "*" resource except where AWS offers no narrower one;
- checkov: no failed check; every skipped one carries a written reason.
"""

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import hcl2
import pytest

INFRA = Path(__file__).resolve().parents[1]
ROOT = INFRA.parent
CRATES = ROOT / "crates"


def unquote(v):
    """python-hcl2 8 keeps the quotes of string literals and labels; strip them recursively."""
    if isinstance(v, str):
        return v[1:-1] if len(v) >= 2 and v[0] == '"' and v[-1] == '"' else v
    if isinstance(v, list):
        return [unquote(x) for x in v]
    if isinstance(v, dict):
        return {unquote(k): unquote(x) for k, x in v.items() if k not in ("__is_block__", "__comments__")}
    return v


def load(path):
    with open(path) as f:
        return unquote(hcl2.load(f))


def blocks(doc, kind):
    """{(type, name): body} for `resource`/`data` blocks of a parsed file."""
    out = {}
    for entry in doc.get(kind, []):
        for typ, named in entry.items():
            for name, body in named.items():
                out[(typ, name)] = body
    return out


@pytest.fixture(scope="module")
def module():
    docs = [load(p) for p in sorted(INFRA.glob("*.tf"))]
    merged = {"resource": {}, "data": {}, "locals": {}, "variable": {}, "output": {}}
    for d in docs:
        merged["resource"].update(blocks(d, "resource"))
        merged["data"].update(blocks(d, "data"))
        for loc in d.get("locals", []):
            merged["locals"].update(loc)
        for v in d.get("variable", []):
            merged["variable"].update(v)
        for o in d.get("output", []):
            merged["output"].update(o)
    return merged


def rust(path):
    return (ROOT / path).read_text()


def rust_const(path, name):
    m = re.search(rf'pub const {name}: &str = "([^"]*)";', rust(path))
    assert m, f"{name} not found in {path}"
    return m.group(1)


def hcl_object_to_json(expr):
    """`${jsonencode({a = ["x"], b = {c = 1}})}` → the JSON value."""
    m = re.fullmatch(r"\$\{jsonencode\((.*)\)\}", expr, re.S)
    assert m, expr
    body = m.group(1)
    body = re.sub(r'([{,]\s*)"?([A-Za-z_][A-Za-z0-9_-]*)"?\s*=', r'\1"\2":', body)
    return json.loads(body)


def test_every_tf_file_parses():
    files = sorted(INFRA.rglob("*.tf"))
    assert len(files) >= 8, files
    for f in files:
        with open(f) as fh:
            hcl2.load(fh)


def test_module_layout():
    for name in ["main.tf", "variables.tf", "outputs.tf", "versions.tf", "README.md"]:
        assert (INFRA / name).is_file(), name
    assert (INFRA / "examples/default/main.tf").is_file()


def test_every_variable_has_a_description_and_a_type(module):
    for name, body in module["variable"].items():
        assert body.get("description"), name
        assert body.get("type"), name


def test_table_matches_the_code(module):
    t = module["resource"][("aws_dynamodb_table", "this")]
    pk = rust_const("crates/aws/src/dynamo.rs", "PK")
    sk = rust_const("crates/aws/src/dynamo.rs", "SK")
    assert (t["hash_key"], t["range_key"]) == (pk, sk)
    attrs = {a["name"]: a["type"] for a in t["attribute"]}
    assert attrs == {pk: "S", sk: "S"}
    assert t["billing_mode"] == "PAY_PER_REQUEST"
    assert t["stream_enabled"] is True and t["stream_view_type"] == "NEW_AND_OLD_IMAGES"
    assert t["ttl"][0]["attribute_name"] == rust_const("crates/core/src/keys.rs", "TTL_ATTR")
    assert t["point_in_time_recovery"][0]["enabled"] is True
    assert t["server_side_encryption"][0]["enabled"] is True
    assert "aws_kms_key.this.arn" in t["server_side_encryption"][0]["kms_key_arn"]
    # No secondary index: each would bill its own write units for every item it holds, and every
    # read the code makes is by key (pk, or pk and sk).
    assert "global_secondary_index" not in t
    assert ".index_name(" not in rust("crates/aws/src/dynamo.rs")


def test_stream_filters_match_the_item_keys(module):
    snap_prefix = rust_const("crates/core/src/keys.rs", "SNAP_PREFIX")
    event_prefix = rust_const("crates/core/src/keys.rs", "EVENT_PREFIX")
    # event_pk builds its keys from that constant.
    assert re.search(r"pub fn event_pk\([^)]*\) -> String \{[^}]*\[EVENT_PREFIX,", rust("crates/core/src/keys.rs"))
    snap = hcl_object_to_json(module["locals"]["snapshot_insert_filter"])
    evt = hcl_object_to_json(module["locals"]["event_insert_filter"])
    assert snap == {"eventName": ["INSERT"], "dynamodb": {"Keys": {"sk": {"S": [{"prefix": snap_prefix}]}}}}
    assert evt == {"eventName": ["INSERT"], "dynamodb": {"Keys": {"pk": {"S": [{"prefix": event_prefix}]}}}}
    # The scorer's own check agrees with its filter.
    assert "sk.starts_with(keys::SNAP_PREFIX)" in rust("crates/core/src/pipeline.rs")

    res = module["resource"]
    for fn, filt in [("trend_scorer", "snapshot_insert_filter"), ("notifier", "event_insert_filter")]:
        esm = res[("aws_lambda_event_source_mapping", fn)]
        assert esm["function_name"] == f"${{aws_lambda_function.{fn}.arn}}"
        assert esm["event_source_arn"] == "${aws_dynamodb_table.this.stream_arn}"
        assert esm["filter_criteria"][0]["filter"][0]["pattern"] == f"${{local.{filt}}}"
        assert esm["function_response_types"] == ["ReportBatchItemFailures"]
        assert esm["bisect_batch_on_function_error"] is True
        assert "maximum_retry_attempts" in esm
        assert "aws_sqs_queue.dlq.arn" in esm["destination_config"][0]["on_failure"][0]["destination_arn"]


FUNCTIONS = {"fetcher": "fetcher", "trend_scorer": "trend-scorer", "notifier": "notifier"}


@pytest.mark.parametrize("key,crate", FUNCTIONS.items())
def test_each_function_is_a_crate_with_a_main(module, key, crate):
    zips = module["locals"]["zips"]
    assert zips[key] == f"${{local.zip_dir}}/{crate}/bootstrap.zip"
    assert (CRATES / crate / "src/main.rs").is_file(), f"crates/{crate}/src/main.rs"
    cargo = (CRATES / crate / "Cargo.toml").read_text()
    assert re.search(rf'^name = "{crate}"', cargo, re.M), f"crates/{crate} is not package {crate}"
    f = module["resource"][("aws_lambda_function", key)]
    assert f["runtime"] == "provided.al2023" and f["handler"] == "bootstrap"
    assert f["filename"] == f"${{local.zips.{key}}}"
    assert f["logging_config"][0]["log_format"] == "JSON"
    assert "tracing_config" in f
    if key == "fetcher":
        assert f["reserved_concurrent_executions"] == 1


def variables_read(crate):
    src = (CRATES / crate / "src/config.rs").read_text()
    return set(re.findall(r'"((?:MELI|AWS)_[A-Z0-9_]+)"', src))


@pytest.mark.parametrize("key,crate", FUNCTIONS.items())
def test_environment_matches_config_from_env(module, key, crate):
    config = CRATES / crate / "src/config.rs"
    if not config.is_file():
        pytest.skip(f"crates/{crate}/src/config.rs does not exist yet")
    read = variables_read(crate)
    env = module["locals"][f"{key}_environment"]
    assert module["resource"][("aws_lambda_function", key)]["environment"][0]["variables"] == f"${{local.{key}_environment}}"
    set_by_terraform = set(env)
    assert read - set_by_terraform == set(), f"{crate} reads variables Terraform does not set"
    assert set_by_terraform - read == set(), f"Terraform sets variables {crate} does not read"


def statements(module):
    for (typ, name), body in module["data"].items():
        if typ == "aws_iam_policy_document":
            for st in body.get("statement", []):
                yield name, st


def test_iam_is_least_privilege(module):
    # "*" resources only where AWS has no resource-level permission; "*" actions only in the key policy.
    allowed_star_resources = {("kms", "AccountAdministersThroughIam"), ("kms", "ServicesUseTheKey"), ("kms", "LogsUseTheKey")}
    for name, st in statements(module):
        actions = st.get("actions", [])
        resources = st.get("resources", [])
        if "*" in resources:
            ok = (name, st.get("sid")) in allowed_star_resources or actions == ["dynamodb:ListStreams"]
            assert ok, f"{name}/{st.get('sid')} grants {actions} on *"
        for a in actions:
            if a.endswith(":*") or a == "*":
                assert (name, st.get("sid")) == ("kms", "AccountAdministersThroughIam"), f"{name}: {a}"


def checkov_binary():
    env = os.environ.get("CHECKOV")
    if env:
        return env
    venv = os.environ.get("VENV", "/var/tmp/meli-radar-venv")
    candidate = Path(f"{venv}-checkov/bin/checkov")
    if candidate.is_file():
        return str(candidate)
    return shutil.which("checkov")


def test_checkov_reports_no_failed_check():
    binary = checkov_binary()
    if binary is None:
        if os.environ.get("CI") == "true":
            pytest.fail("checkov is not installed: run `make venv-checkov` (make test-infra does)")
        pytest.skip("checkov is not installed: run `make venv-checkov`")
    out = subprocess.run(
        [binary, "-d", str(INFRA), "--framework", "terraform", "--output", "json", "--quiet", "--compact", "--skip-download"],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert out.stdout.strip(), out.stderr
    reports = json.loads(out.stdout)
    if isinstance(reports, dict):
        reports = [reports]
    failed = []
    skipped = []
    passed = 0
    for r in reports:
        results = r.get("results", {})
        failed += results.get("failed_checks", [])
        skipped += results.get("skipped_checks", [])
        passed += r.get("summary", {}).get("passed", 0)
    assert passed > 50, "checkov ran almost no check"
    assert not failed, "\n".join(f"{c['check_id']} {c['resource']} {c['file_path']}: {c['check_name']}" for c in failed)
    for c in skipped:
        reason = (c.get("check_result") or {}).get("suppress_comment") or ""
        assert len(reason.strip()) > 20, f"{c['check_id']} on {c['resource']} is skipped without a reason"


def rust_str_list(path, name):
    m = re.search(rf"pub const {name}: &\[&str\] =\s*&\[([^\]]*)\]", rust(path), re.S)
    assert m, f"{name} not found in {path}"
    return re.findall(r'"([^"]*)"', m.group(1))


def test_slack_is_optional(module):
    # enable_slack = false: no secret (US$ 0.40 a month), an empty variable the notifier reads as
    # "no Slack" (crates/notifier/src/config.rs), no grant on a secret that does not exist.
    assert module["variable"]["enable_slack"]["default"] is True
    assert module["resource"][("aws_secretsmanager_secret", "slack")]["count"] == "${var.enable_slack ? 1 : 0}"
    env = module["locals"]["notifier_environment"]
    assert env["MELI_SLACK_SECRET_ID"] == '${var.enable_slack ? aws_secretsmanager_secret.slack[0].arn : ""}'
    notifier = module["data"][("aws_iam_policy_document", "notifier")]
    assert not [st for st in notifier.get("statement", []) if st.get("sid") == "SlackWebhooks"]
    grants = [d["statement"] for d in notifier.get("dynamic", []) if "statement" in d]
    assert len(grants) == 1 and grants[0]["for_each"] == "${aws_secretsmanager_secret.slack}"
    assert grants[0]["content"][0]["sid"] == "SlackWebhooks"
    assert grants[0]["content"][0]["actions"] == ["secretsmanager:GetSecretValue"]


def test_reports_bucket_is_private_encrypted_and_optional(module):
    res = module["resource"]
    reports = {k: v for k, v in res.items() if k[1] in ("reports", "notifier_reports")}
    assert ("aws_s3_bucket", "reports") in reports
    for (typ, name), body in reports.items():
        assert body.get("count") == "${local.reports_enabled}", f"{typ}.{name} is not behind create_reports"
    assert module["locals"]["reports_enabled"] == "${var.create_reports ? 1 : 0}"
    assert module["variable"]["create_reports"]["default"] is False
    pab = res[("aws_s3_bucket_public_access_block", "reports")]
    for flag in ["block_public_acls", "block_public_policy", "ignore_public_acls", "restrict_public_buckets"]:
        assert pab[flag] is True, flag
    sse = res[("aws_s3_bucket_server_side_encryption_configuration", "reports")]["rule"][0]
    default = sse["apply_server_side_encryption_by_default"][0]
    assert default["sse_algorithm"] == "aws:kms" and "aws_kms_key.this.arn" in default["kms_master_key_id"]
    # No statement of the bucket policy allows anything: it only denies plain HTTP.
    policy = module["data"][("aws_iam_policy_document", "reports_bucket")]
    for st in policy["statement"]:
        assert st["effect"] == "Deny" and st["condition"][0]["variable"] == "aws:SecureTransport"


def test_notifier_can_write_and_sign_reports_under_the_prefix_the_code_uses(module):
    prefix = rust_const("crates/report/src/publish.rs", "REPORTS_PREFIX")
    assert module["locals"]["reports_prefix"] == prefix
    # The key layout the outputs describe is the code's.
    assert re.search(r'format!\("\{REPORTS_PREFIX\}/\{site\}/\{\}/\{\}"', rust("crates/report/src/publish.rs"))
    doc = module["data"][("aws_iam_policy_document", "notifier_reports")]
    by_sid = {st["sid"]: st for st in doc["statement"]}
    assert sorted(by_sid["Reports"]["actions"]) == ["s3:GetObject", "s3:PutObject"]
    assert by_sid["Reports"]["resources"] == ["${aws_s3_bucket.reports[0].arn}/${local.reports_prefix}/*"]
    # PutObject with aws:kms under the module's key, and GETs through presigned URLs, need the key.
    assert sorted(by_sid["ReportsKey"]["actions"]) == ["kms:Decrypt", "kms:GenerateDataKey"]
    assert by_sid["ReportsKey"]["resources"] == ["${aws_kms_key.this.arn}"]
    attach = module["resource"][("aws_iam_role_policy", "notifier_reports")]
    assert attach["role"] == "${aws_iam_role.notifier.id}"
    assert attach["policy"] == "${data.aws_iam_policy_document.notifier_reports[0].json}"
    # The S3 adapter sends the headers the bucket expects: SSE with the configured key, HTML in UTF-8.
    s3 = rust("crates/aws/src/s3.rs")
    assert "ServerSideEncryption::AwsKms" in s3 and ".ssekms_key_id(" in s3
    assert 'HTML_CONTENT_TYPE: &str = "text/html; charset=utf-8"' in s3


def test_notifier_gets_the_report_variables_it_reads(module):
    wanted = rust_str_list("crates/notifier/src/lib.rs", "REPORT_VARIABLES")
    env = module["locals"]["notifier_reports_environment"]
    assert sorted(env) == sorted(wanted)
    assert env["MELI_REPORTS_BUCKET"] == '${var.create_reports ? aws_s3_bucket.reports[0].id : ""}'
    assert env["MELI_REPORTS_KMS_KEY_ARN"] == '${var.create_reports ? aws_kms_key.this.arn : ""}'
    notifier_env = module["locals"]["notifier_environment"]
    for name in wanted:
        assert notifier_env.get(name) == f"${{local.notifier_reports_environment.{name}}}", (
            f"{name} is not passed to the notifier (infra/main.tf, local.notifier_environment)"
        )
