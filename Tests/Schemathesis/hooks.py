"""schemathesis hooks for Trainyard (SchemathesisTests).

`refused_only_for_rules_beyond_the_schema`: valid data (positive mode) may be refused with 422 only for rules that
openapi/trainyard.yaml cannot express as JSON Schema and states in descriptions instead. A 422 that names any other
rule means the spec allows what the server refuses: a generated client's valid request would fail.
"""

import ast
import threading

import schemathesis
from schemathesis.core.failures import Failure

# CPython 3.11 before 3.11.8 keeps the AST constructor's recursion count in one place per interpreter, not per call
# (gh-106905): when two threads run `ast.parse` at once (a garbage collection inside one runs Python code, and the
# other thread gets the GIL), each resets the other's count and one raises "SystemError: AST constructor recursion
# depth mismatch". With `--workers 2`, both workers' Hypothesis parses the source of lambdas while drawing (it reads
# filter predicates that way, e.g. for the 100 patterned locations of ReplaceProjectLocationsRequest): a flaky error of
# the tool, reported as "Inconsistent results", never a finding. One parse at a time rules it out.
_ast_parse = ast.parse
_ast_parse_lock = threading.RLock()


def _one_parse_at_a_time(*args, **kwargs):
    with _ast_parse_lock:
        return _ast_parse(*args, **kwargs)


ast.parse = _one_parse_at_a_time

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
    "mismatch",  # an upload's Content-Digest that is not the SHA-256 of the bytes sent
    "file_name_length",  # a file:// path segment over 255 bytes of UTF-8 (a pattern counts characters, not bytes)
    "writable",  # an upload's output_path where the file system can create no object (a file on the way, a long name)
}
# Rules beyond the schema for some fields only: tag characters are Unicode classes (\p{L}, \p{N}, \p{Z}) that the
# spec's patterns, kept to what every JSON Schema engine reads, approximate.
# A URI with an http(s) scheme and no host (`http:///x`, `http://user@/`) is a valid `format: uri`.
# Content-Digest's pattern is in the spec, but schemathesis 4 draws header values from its own header strategy without
# the pattern in some phases (seen: `Content-Digest: 0` as positive data), so its refusal is left to the description.
BEYOND_THE_SCHEMA_FOR_FIELDS = {"pattern": ("tags.",), "host": ("url",), "digest": ("Content-Digest",)}


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
