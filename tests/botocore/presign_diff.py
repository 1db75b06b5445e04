#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Differential test: randomized S3 presigns from the sigv4 library against botocore's
generate_presigned_url. Every URL must carry the same signature, path and query parameters.
Usage: presign_diff.py PATH_TO_presign_cases [COUNT] [SEED]"""
import datetime
import json
import random
import subprocess
import sys
import urllib.parse

try:
    import botocore.auth
    import botocore.session
    from botocore.config import Config
except ImportError:
    print("skipped: python3 has no botocore")
    sys.exit(77)

tool = sys.argv[1]
count = int(sys.argv[2]) if len(sys.argv) > 2 else 1200
rng = random.Random(int(sys.argv[3]) if len(sys.argv) > 3 else 20260101)

KEY_PIECES = ["a", "Z", "0", " ", "+", "%", "~", "*", "=", "&", "?", "#", "//", "/", "!", "'", "(", ")",
              "-", "_", ".", "ü", "日本", "\U0001F600", "$", "@", ":", ",", ";", "%20", "é"]
REGIONS = ["us-east-1", "us-west-2", "eu-west-1", "eu-central-1", "ap-southeast-2", "sa-east-1"]
METHODS = {"GET": "get_object", "PUT": "put_object", "HEAD": "head_object", "DELETE": "delete_object"}


def random_key():
    key = "".join(rng.choice(KEY_PIECES) for _ in range(rng.randint(1, 12)))
    return key if not key.startswith("/") else "k" + key


def random_case(i):
    method = rng.choice(list(METHODS))
    case = {
        "method": method,
        "bucket": rng.choice(["examplebucket", "my-bucket-1", "data.bucket", "b-" + str(i % 97)]),
        "key": random_key(),
        "region": rng.choice(REGIONS),
        "style": rng.choice(["virtual", "path"]),
        "access_key": "AKIA" + "".join(rng.choice("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567") for _ in range(16)),
        "secret_key": "".join(rng.choice("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789+/")
                              for _ in range(40)),
        "time": "2026%02d%02dT%02d%02d%02dZ" % (rng.randint(1, 12), rng.randint(1, 28), rng.randint(0, 23),
                                                rng.randint(0, 59), rng.randint(0, 59)),
        "expires": rng.choice([1, 60, 300, 3600, 86400, 604800]),
    }
    if "." in case["bucket"]:
        case["style"] = "path"  # botocore also refuses dotted virtual-hosted buckets over https
    if rng.random() < 0.4:
        case["token"] = "".join(rng.choice("abcdefghijklmnopqrstuvwxyz0123456789+/=") for _ in range(rng.randint(20, 300)))
    if method == "PUT":
        if rng.random() < 0.6:
            case["content_type"] = rng.choice(["image/png", "text/plain; charset=utf-8", "application/octet-stream"])
        if rng.random() < 0.4:
            case["content_length"] = rng.randint(0, 5 * 1024 ** 3)
        if rng.random() < 0.3:
            case["metadata"] = {"owner": "me", "note": rng.choice(["a b", "x", "  padded  "])}
        if rng.random() < 0.3:
            case["sse"] = "AES256"
    if method == "GET":
        if rng.random() < 0.3:
            case["response_content_disposition"] = rng.choice(
                ['attachment; filename="a b.txt"', "attachment; filename*=UTF-8''%C3%BC.txt", "inline"])
        if rng.random() < 0.2:
            case["response_content_type"] = "text/plain"
        if rng.random() < 0.2:
            case["version_id"] = "3/L4kqtJlcpXroDTDmJ+rmSpXd3dIbrHY"
    return case


def botocore_url(case, session):
    fixed = datetime.datetime.strptime(case["time"], "%Y%m%dT%H%M%SZ")
    botocore.auth.get_current_datetime = lambda remove_tzinfo=True: fixed
    client = session.create_client(
        "s3", region_name=case["region"], endpoint_url="https://s3.%s.amazonaws.com" % case["region"],
        aws_access_key_id=case["access_key"], aws_secret_access_key=case["secret_key"],
        aws_session_token=case.get("token"),
        config=Config(signature_version="s3v4", s3={"addressing_style": case["style"]}))
    params = {"Bucket": case["bucket"], "Key": case["key"]}
    if "content_type" in case:
        params["ContentType"] = case["content_type"]
    if "content_length" in case:
        params["ContentLength"] = case["content_length"]
    if "metadata" in case:
        params["Metadata"] = case["metadata"]
    if "sse" in case:
        params["ServerSideEncryption"] = case["sse"]
    if "response_content_disposition" in case:
        params["ResponseContentDisposition"] = case["response_content_disposition"]
    if "response_content_type" in case:
        params["ResponseContentType"] = case["response_content_type"]
    if "version_id" in case:
        params["VersionId"] = case["version_id"]
    return client.generate_presigned_url(METHODS[case["method"]], Params=params, ExpiresIn=case["expires"])


def parts(url):
    split = urllib.parse.urlsplit(url)
    query = sorted(urllib.parse.parse_qsl(split.query, keep_blank_values=True))
    return split.scheme, split.netloc, split.path, query


def main():
    cases = [random_case(i) for i in range(count)]
    ours = subprocess.run([tool], input="\n".join(json.dumps(c) for c in cases) + "\n",
                          capture_output=True, text=True, check=True).stdout.splitlines()
    assert len(ours) == len(cases), "the tool answered %d lines for %d cases" % (len(ours), len(cases))
    session = botocore.session.get_session()
    failures = 0
    for case, our_url in zip(cases, ours):
        theirs = botocore_url(case, session)
        if parts(our_url) != parts(theirs):
            failures += 1
            if failures <= 5:
                print("MISMATCH for case", json.dumps(case, ensure_ascii=False))
                print("  ours:    ", our_url)
                print("  botocore:", theirs)
    print("botocore differential: %d presigns compared, %d mismatches" % (len(cases), failures))
    print("%d passed, %d failed" % (len(cases) - failures, failures))
    sys.exit(1 if failures else 0)


main()
