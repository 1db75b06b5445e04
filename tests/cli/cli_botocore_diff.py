#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Differential test through the command line: randomized `presign get|put|head|delete` runs
against botocore's generate_presigned_url with the same keys, options and signing time. Every URL
must have the same host, path and query (signature included).
Usage: cli_botocore_diff.py PATH_TO_presign [COUNT] [SEED]   (exit 77: botocore missing)"""
import datetime
import os
import random
import subprocess
import sys
import tempfile
import urllib.parse

try:
    import botocore.auth
    import botocore.session
    from botocore.config import Config
except ImportError:
    print("skipped: python3 has no botocore")
    sys.exit(77)

PRESIGN = sys.argv[1]
COUNT = int(sys.argv[2]) if len(sys.argv) > 2 else 300
rng = random.Random(int(sys.argv[3]) if len(sys.argv) > 3 else 4242)

KEY_PIECES = ["a", "Z", "0", " ", "+", "%", "~", "*", "=", "&", "?", "#", "//", "/", "!", "'", "(", ")",
              "-", "_", ".", "ü", "日本", "\U0001F600", "$", "@", ":", ",", ";", "%20", "é", "[", "]"]
REGIONS = ["us-east-1", "us-west-2", "eu-west-1", "eu-central-1", "ap-southeast-2", "sa-east-1"]
OPERATIONS = {"get": "get_object", "put": "put_object", "head": "head_object", "delete": "delete_object"}
EXPIRIES = [1, 59, 60, 300, 900, 3600, 43200, 86400, 604800]


def expires_text(seconds):
    forms = [str(seconds), "%ds" % seconds]
    for unit, size in (("m", 60), ("h", 3600), ("d", 86400)):
        if seconds % size == 0:
            forms.append("%d%s" % (seconds // size, unit))
    return rng.choice(forms)


def random_case():
    command = rng.choice(list(OPERATIONS))
    key = "".join(rng.choice(KEY_PIECES) for _ in range(rng.randint(1, 14)))
    case = {
        "command": command,
        "bucket": rng.choice(["examplebucket", "my-bucket-1", "data.bucket", "b-" + str(rng.randint(0, 999))]),
        "key": key,
        "region": rng.choice(REGIONS),
        "path_style": rng.random() < 0.4,
        "access_key": "AKIA" + "".join(rng.choice("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567") for _ in range(16)),
        "secret_key": "".join(rng.choice("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789+/")
                              for _ in range(40)),
        "time": datetime.datetime(2026, rng.randint(1, 12), rng.randint(1, 28), rng.randint(0, 23),
                                  rng.randint(0, 59), rng.randint(0, 59)),
        "expires": rng.choice(EXPIRIES),
    }
    if "." in case["bucket"]:
        case["path_style"] = True  # dotted names are path-style over https (both tools agree)
    if rng.random() < 0.4:
        case["token"] = "".join(rng.choice("abcdefghijklmnopqrstuvwxyz0123456789+/=") for _ in range(rng.randint(20, 300)))
    if command == "put":
        if rng.random() < 0.6:
            case["content_type"] = rng.choice(["image/png", "text/plain; charset=utf-8", "application/octet-stream"])
        if rng.random() < 0.4:
            case["content_length"] = rng.randint(0, 5 * 1024 ** 3)
        if rng.random() < 0.3:
            case["metadata"] = {"owner": rng.choice(["me", "a b", "x-y"])}
        if rng.random() < 0.3:
            case["sse"] = "AES256"
    if command == "get":
        if rng.random() < 0.3:
            case["download_as"] = rng.choice(["report.pdf", "a b.txt", "Résumé.pdf", "日本.txt", "q\"uote.txt"])
        if rng.random() < 0.2:
            case["response_content_type"] = "text/plain"
    return case


def our_url(case):
    args = [PRESIGN, case["command"], "s3://%s/%s" % (case["bucket"], case["key"]),
            "--region", case["region"], "--expires", expires_text(case["expires"]),
            "--date", case["time"].strftime(rng.choice(["%Y%m%dT%H%M%SZ", "%Y-%m-%dT%H:%M:%SZ"]))]
    if case["path_style"]:
        args.append("--path-style")
    if "content_type" in case:
        args += ["--content-type", case["content_type"]]
    if "response_content_type" in case:
        args += ["--content-type", case["response_content_type"]]
    if "content_length" in case:
        args += ["--content-length", str(case["content_length"])]
    for name, value in case.get("metadata", {}).items():
        args += ["--header", "x-amz-meta-%s: %s" % (name, value)]
    if "sse" in case:
        args += ["--sse", case["sse"]]
    if "download_as" in case:
        args += ["--download-as", case["download_as"]]
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": HOME,
           "AWS_CONFIG_FILE": "/dev/null", "AWS_SHARED_CREDENTIALS_FILE": "/dev/null",
           "AWS_EC2_METADATA_DISABLED": "true",
           "AWS_ACCESS_KEY_ID": case["access_key"], "AWS_SECRET_ACCESS_KEY": case["secret_key"]}
    if "token" in case:
        env["AWS_SESSION_TOKEN"] = case["token"]
    done = subprocess.run(args, env=env, capture_output=True, text=True, timeout=30)
    if done.returncode != 0:
        raise AssertionError("presign failed (%d): %s for %r" % (done.returncode, done.stderr, case))
    return done.stdout.strip()


def botocore_url(case, session, ours):
    botocore.auth.get_current_datetime = lambda remove_tzinfo=True: case["time"]
    client = session.create_client(
        "s3", region_name=case["region"], endpoint_url="https://s3.%s.amazonaws.com" % case["region"],
        aws_access_key_id=case["access_key"], aws_secret_access_key=case["secret_key"],
        aws_session_token=case.get("token"),
        config=Config(signature_version="s3v4",
                      s3={"addressing_style": "path" if case["path_style"] else "virtual"}))
    params = {"Bucket": case["bucket"], "Key": case["key"]}
    if "content_type" in case:
        params["ContentType"] = case["content_type"]
    if "content_length" in case:
        params["ContentLength"] = case["content_length"]
    if "metadata" in case:
        params["Metadata"] = case["metadata"]
    if "sse" in case:
        params["ServerSideEncryption"] = case["sse"]
    if "response_content_type" in case:
        params["ResponseContentType"] = case["response_content_type"]
    if "download_as" in case:
        # The attachment value is the CLI's own (RFC 6266); botocore signs whatever it is given.
        params["ResponseContentDisposition"] = parts(ours)[3].get("response-content-disposition")
    return client.generate_presigned_url(OPERATIONS[case["command"]], Params=params, ExpiresIn=case["expires"])


def parts(url):
    split = urllib.parse.urlsplit(url)
    return split.scheme, split.netloc, split.path, dict(urllib.parse.parse_qsl(split.query, keep_blank_values=True))


def main():
    session = botocore.session.get_session()
    failures = 0
    for _ in range(COUNT):
        case = random_case()
        ours = our_url(case)
        theirs = botocore_url(case, session, ours)
        if parts(ours) != parts(theirs):
            failures += 1
            if failures <= 5:
                print("MISMATCH for", repr(case))
                print("  presign: ", ours)
                print("  botocore:", theirs)
    print("cli botocore differential: %d URLs compared, %d mismatches" % (COUNT, failures))
    sys.exit(1 if failures else 0)


HOME = tempfile.mkdtemp(prefix="presign-cli-diff-")
try:
    main()
finally:
    os.rmdir(HOME)
