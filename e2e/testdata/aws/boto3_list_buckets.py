"""List buckets with boto3 through the AWS_PROFILE profile, reporting errors.

Usage: /usr/bin/python3 boto3_list_buckets.py ENDPOINT
Prints one JSON object: {"ok": true, "buckets": [...]} or
{"ok": false, "error_type": ..., "error": ...}, and exits 0 either way.
"""
import json
import sys

import boto3
import botocore
from botocore.config import Config

endpoint = sys.argv[1]
out = {"boto3": boto3.__version__, "botocore": botocore.__version__}
try:
    s3 = boto3.Session().client("s3", endpoint_url=endpoint, config=Config(s3={"addressing_style": "path"}))
    out["buckets"] = [b["Name"] for b in s3.list_buckets().get("Buckets", [])]
    out["ok"] = True
except Exception as e:  # the test asserts on the type and message
    out.update(ok=False, error_type=type(e).__name__, error=str(e))
print(json.dumps(out))
