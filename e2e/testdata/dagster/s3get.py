"""Prints the body of s3://BUCKET/KEY at $E2E_S3_ENDPOINT, with boto3's default chain."""

import os
import sys

import boto3

client = boto3.client("s3", endpoint_url=os.environ["E2E_S3_ENDPOINT"])
body = client.get_object(Bucket=sys.argv[1], Key=sys.argv[2])
sys.stdout.write(body["Body"].read().decode())
