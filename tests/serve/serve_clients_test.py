#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Real AWS clients against `presign serve` with the profile it prints: `aws s3 presign` and boto3's
generate_presigned_url (GET and PUT) must give links the local store accepts; a SigV2 link (a
profile without signature_version = s3v4) gets S3's InvalidRequest saying how to switch.
usage: serve_clients_test.py PRESIGN_BINARY"""
import os
import shutil
import subprocess
import sys
import tempfile

from serve_support import Serve, check, finish, profile_env, request, s3_code

# boto3 run in a child so that it reads the profile from the printed environment, as a user's would.
BOTO3_PRESIGN = r"""
import sys, boto3
method, bucket, key = sys.argv[1:4]
params = {"Bucket": bucket, "Key": key}
if method == "put_object":
    params["ContentType"] = "text/plain"
print(boto3.session.Session().client("s3").generate_presigned_url(method, Params=params, ExpiresIn=300))
"""


def run(argv, env):
    done = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=120)
    return done.returncode, done.stdout.strip(), done.stderr.strip()


def boto3_presign(env, method, key):
    return run([sys.executable, "-c", BOTO3_PRESIGN, method, "presign", key], env)


def check_sdk_links(serve, env, scratch):
    have_boto3 = run([sys.executable, "-c", "import boto3"], env)[0] == 0
    if not have_boto3:
        print("skipped: boto3 not installed")
    else:
        code, url, err = boto3_presign(env, "put_object", "sdk/boto3.txt")
        if check(code == 0, "boto3 presigns a PUT with the printed profile: " + err):
            check("X-Amz-Signature=" in url and url.startswith(serve.s3 + "/presign/"),
                  "boto3's PUT link is SigV4 and path-style on the local store: " + url.split("?")[0])
            status, body, _ = request("PUT", url, b"from boto3", {"Content-Type": "text/plain"})
            check(status == 200, "boto3's presigned PUT uploads (%s %r)" % (status, body[:300]))
        code, url, err = boto3_presign(env, "get_object", "sdk/boto3.txt")
        if check(code == 0, "boto3 presigns a GET with the printed profile: " + err):
            status, body, _ = request("GET", url)
            check(status == 200 and body == b"from boto3", "boto3's presigned GET downloads (%s %r)" % (status, body[:300]))

    if not shutil.which("aws"):
        print("skipped: aws CLI not installed")
    else:
        local = os.path.join(scratch, "from aws.txt")
        with open(local, "wb") as out:
            out.write(b"from the aws cli")
        code, _, err = run(["aws", "s3", "cp", local, "s3://presign/sdk/aws.txt"], env)
        check(code == 0, "aws s3 cp uploads with the printed profile: " + err)
        code, url, err = run(["aws", "s3", "presign", "s3://presign/sdk/aws.txt"], env)
        if check(code == 0, "aws s3 presign with the printed profile: " + err):
            check("X-Amz-Signature=" in url, "aws s3 presign gives a SigV4 link")
            status, body, _ = request("GET", url)
            check(status == 200 and body == b"from the aws cli",
                  "aws s3 presign's GET link downloads (%s %r)" % (status, body[:300]))
        if have_boto3:
            status, body, _ = request("GET", boto3_presign(env, "get_object", "sdk/aws.txt")[1])
            check(status == 200 and body == b"from the aws cli", "boto3 reads what the aws cli uploaded")

    # The profile as it was before signature_version = s3v4: these clients sign SigV2 in us-east-1.
    old_config = os.path.join(scratch, "aws-config-sigv2")
    with open(env["AWS_CONFIG_FILE"]) as new, open(old_config, "w") as old:
        old.write("".join(line for line in new if "signature_version" not in line))
    sigv2_env = dict(env, AWS_CONFIG_FILE=old_config)
    links = []
    if have_boto3:
        links += [("boto3 GET", "GET", boto3_presign(sigv2_env, "get_object", "sdk/boto3.txt")[1]),
                  ("boto3 PUT", "PUT", boto3_presign(sigv2_env, "put_object", "sdk/boto3.txt")[1])]
    if shutil.which("aws"):
        links.append(("aws s3 presign", "GET", run(["aws", "s3", "presign", "s3://presign/sdk/aws.txt"], sigv2_env)[1]))
    for name, method, url in links:
        if not check("AWSAccessKeyId=" in url and "Signature=" in url, name + " without s3v4 gives a SigV2 link"):
            continue
        status, body, _ = request(method, url, b"overwritten" if method == "PUT" else None,
                                  {"Content-Type": "text/plain"} if method == "PUT" else {})
        text = body.decode(errors="replace")
        check(status == 400 and s3_code(body) == "InvalidRequest" and "Please use AWS4-HMAC-SHA256" in text
              and "Signature Version 2" in text and "signature_version = s3v4" in text,
              name + " SigV2 link: 400 InvalidRequest naming SigV2 and the s3v4 setting (%s %r)" % (status, text[:200]))
    if have_boto3:
        status, body, _ = request("GET", boto3_presign(env, "get_object", "sdk/boto3.txt")[1])
        check(status == 200 and body == b"from boto3", "the refused SigV2 PUT left the object as it was")


def main():
    binary = sys.argv[1]
    scratch = tempfile.mkdtemp(prefix="presign-serve-clients-")
    serve = Serve(binary, os.path.join(scratch, "data"), "--bucket", "presign")
    try:
        config = open(os.path.join(scratch, "data", "aws-config")).read()
        check("signature_version = s3v4" in config and "addressing_style = path" in config,
              "the generated aws-config asks for SigV4 and path-style")
        check_sdk_links(serve, profile_env(serve), scratch)
    finally:
        serve.stop()
    shutil.rmtree(scratch, ignore_errors=True)
    return finish()


if __name__ == "__main__":
    sys.exit(main())
