"""schemathesis hooks for Trainyard (SchemathesisTests).

`refused_only_for_rules_beyond_the_schema`: valid data (positive mode) may be refused with 422 only for rules that
openapi/trainyard.yaml cannot express as JSON Schema and states in descriptions instead. A 422 that names any other
rule means the spec allows what the server refuses: a generated client's valid request would fail.
"""

import sys

import schemathesis
from schemathesis.core.failures import Failure

# CPython 3.11 (before 3.11.8 / 3.12) raises "SystemError: AST constructor recursion depth mismatch" when ast.parse runs
# deep in a stack that Hypothesis's lambda descriptions reach while the coverage phase builds a 100-item array of
# patterned strings (ReplaceProjectLocationsRequest): an error of the tool's generator, not a finding. More headroom
# keeps the parser's own count from crossing the limit.
sys.setrecursionlimit(max(sys.getrecursionlimit(), 20000))

# Rules that depend on server state or configuration, or on relations a schema cannot state (JobSpecValidator's table).
BEYOND_THE_SCHEMA = {
    "catalog",  # instance_type is in the configured catalog
    "capacity",  # instance_count within the hosts that exist
    "at_least_max_run",  # max_wait >= max_run
    "requires_spot",  # max_wait only with use_spot_instances: true
    "required",  # command, entry_point or the sagemaker_program hyperparameter (image_uri alone on container provisioners)
    "unsupported",  # a field the job's provisioner does not implement, input_mode Pipe
    "regex",  # a metric regex that ICU compiles
    "unique",  # metric names, listed locations
    "location",  # URIs inside the project's locations
    "idempotency_key_reused",  # the same Idempotency-Key with another body
    "after_created_after",  # created_before later than created_after
    "token",  # next_token is one this API gave out
    "address",  # a webhook host that resolves to an address the service refuses
    "resolvable",  # a webhook host that does not resolve
}
# Rules beyond the schema for some fields only: tag characters are Unicode classes (\p{L}, \p{N}, \p{Z}) that the
# spec's patterns, kept to what every JSON Schema engine reads, approximate.
# A URI with an http(s) scheme and no host (`http:///x`, `http://user@/`) is a valid `format: uri`.
BEYOND_THE_SCHEMA_FOR_FIELDS = {"pattern": ("tags.",), "host": ("url",)}


class RefusedForSchemaRule(Failure):
    kind_title = "Valid data refused for a rule the schema can express"

    def __init__(self, *, operation: str, rules: list[str], body: str) -> None:
        super().__init__(
            operation=operation,
            message=f"422 names rules {rules} that are not among those the spec leaves to descriptions; "
            f"state them in openapi/trainyard.yaml or fix the server.\n{body[:2000]}",
        )

    @property
    def _unique_key(self) -> str:
        return self.message


@schemathesis.check
def refused_only_for_rules_beyond_the_schema(ctx, response, case):
    meta = case.meta
    if meta is None or not meta.generation.mode.is_positive or response.status_code != 422:
        return None
    try:
        errors = response.json().get("errors") or []
    except Exception:
        errors = []
    outside = sorted(
        {
            error.get("rule", "?")
            for error in errors
            if error.get("rule") not in BEYOND_THE_SCHEMA
            and not str(error.get("field", "")).startswith(BEYOND_THE_SCHEMA_FOR_FIELDS.get(error.get("rule"), ("\0",)))
        }
    )
    if not errors:
        outside = ["(none named)"]
    if outside:
        raise RefusedForSchemaRule(operation=case.operation.label, rules=outside, body=response.text)
    return None
