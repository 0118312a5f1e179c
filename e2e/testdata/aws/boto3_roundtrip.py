"""Put, list and get one object with boto3 through the AWS_PROFILE profile.

Usage: /usr/bin/python3 boto3_roundtrip.py ENDPOINT BUCKET KEY BODY
Prints one JSON object: the boto3/botocore versions, the keys listed and
the body read back. Credentials come only from the profile's
credential_process (dagster-oidc).
"""
import json
import sys

import boto3
import botocore
from botocore.config import Config

endpoint, bucket, key, body = sys.argv[1:5]
session = boto3.Session()
s3 = session.client("s3", endpoint_url=endpoint, config=Config(s3={"addressing_style": "path"}))
s3.put_object(Bucket=bucket, Key=key, Body=body.encode())
listed = s3.list_objects_v2(Bucket=bucket)
got = s3.get_object(Bucket=bucket, Key=key)["Body"].read().decode()
creds = session.get_credentials()
print(json.dumps({
    "boto3": boto3.__version__,
    "botocore": botocore.__version__,
    "credential_method": creds.method,
    "keys": sorted(o["Key"] for o in listed.get("Contents", [])),
    "body": got,
}))
