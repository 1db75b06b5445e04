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

from serve_support import Serve, api_json, check, finish, profile_env, request, s3_code, upload

# boto3 run in a child so that it reads the profile from the printed environment, as a user's would.
BOTO3_PRESIGN = r"""
import sys, boto3
method, bucket, key = sys.argv[1:4]
params = {"Bucket": bucket, "Key": key}
if method == "put_object":
    params["ContentType"] = "text/plain"
print(boto3.session.Session().client("s3").generate_presigned_url(method, Params=params, ExpiresIn=300))
"""


skipped = []  # clients missing here: the run reports skipped (77), never a plain pass


def run(argv, env):
    done = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=120)
    return done.returncode, done.stdout.strip(), done.stderr.strip()


def boto3_presign(env, method, key):
    return run([sys.executable, "-c", BOTO3_PRESIGN, method, "presign", key], env)


def check_sdk_links(serve, env, scratch):
    have_boto3 = run([sys.executable, "-c", "import boto3"], env)[0] == 0
    if not have_boto3:
        skipped.append("boto3 not installed")
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
        skipped.append("aws CLI not installed")
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


def check_banner_hint(serve, env, binary, expect_plain):
    """The start message's presign line names the binary that runs (plain "presign" only when PATH
    finds it) and works as printed with only the printed export (the profile already sets the
    endpoint and path-style)."""
    hint = [line.strip() for line in serve.lines if " get s3://presign/KEY" in line]
    if not check(len(hint) == 1, "the start message shows how to run presign get: %r" % hint):
        return
    command = hint[0]
    check("--endpoint" not in command and "--path-style" not in command,
          "the hint repeats nothing the profile sets: " + command)
    program = command.split(" get ")[0]
    check(program == "presign" if expect_plain else os.path.realpath(program) == os.path.realpath(binary),
          "the hint names the binary that runs (%s)" % program)
    check(expect_plain or any("cmake --install" in line for line in serve.lines),
          "off PATH, the start message says how to install presign")
    ticket, put_status, _ = upload(serve, "hint.txt", b"hint", "text/plain")
    done = subprocess.run(command.replace("KEY", ticket["key"]), shell=True, env=env,
                          capture_output=True, text=True, timeout=60)
    if check(put_status == 200 and done.returncode == 0, "the printed presign command runs as printed: " + done.stderr.strip()):
        url = done.stdout.strip().splitlines()[-1]
        status, body, _ = request("GET", url)
        check(url.startswith(serve.s3 + "/presign/") and status == 200 and body == b"hint",
              "its link downloads from the local store (%s %s)" % (status, url.split("?")[0]))


def check_flags(binary, scratch):
    """--max-upload-bytes takes units; a bad --expires names the flag once."""
    serve = Serve(binary, os.path.join(scratch, "sized"), "--max-upload-bytes", "10MB")
    try:
        ok = api_json(serve, "POST", "/uploads", {"filename": "a.bin", "contentType": "application/octet-stream",
                                                  "size": 10 * 1000 * 1000})[0]
        over = api_json(serve, "POST", "/uploads", {"filename": "a.bin", "contentType": "application/octet-stream",
                                                    "size": 10 * 1000 * 1000 + 1})[0]
        check(ok == 200 and over == 413, "--max-upload-bytes 10MB signs 10,000,000 bytes, refuses one more (%s %s)"
              % (ok, over))
    finally:
        serve.stop()
    for flag, value in (("--expires", "10x"), ("--max-upload-bytes", "10XB")):
        done = subprocess.run([binary, "serve", "--port", "0", "--s3-port", "0", "--data-dir",
                               os.path.join(scratch, "never"), flag, value],
                              capture_output=True, text=True, timeout=30)
        check(done.returncode == 5 and done.stderr.count(flag) == 1 and value in done.stderr,
              "serve %s %s: exit 5, the flag named once: %r" % (flag, value, done.stderr))


def main():
    binary = sys.argv[1]
    scratch = tempfile.mkdtemp(prefix="presign-serve-clients-")
    serve = Serve(binary, os.path.join(scratch, "data"), "--bucket", "presign")
    try:
        config = open(os.path.join(scratch, "data", "aws-config")).read()
        check("signature_version = s3v4" in config and "addressing_style = path" in config,
              "the generated aws-config asks for SigV4 and path-style")
        check_sdk_links(serve, profile_env(serve), scratch)
        check_banner_hint(serve, profile_env(serve), binary, expect_plain=False)
    finally:
        serve.stop()
    on_path = dict(os.environ, PATH=os.path.dirname(os.path.abspath(binary)) + os.pathsep + os.environ["PATH"])
    serve = Serve(binary, os.path.join(scratch, "data"), "--bucket", "presign", env=on_path)
    try:
        check_banner_hint(serve, dict(profile_env(serve), PATH=on_path["PATH"]), binary, expect_plain=True)
    finally:
        serve.stop()
    check_flags(binary, scratch)
    shutil.rmtree(scratch, ignore_errors=True)
    code = finish()
    if code == 0 and skipped:
        print("skipped: " + "; ".join(skipped))
        return 77
    return code


if __name__ == "__main__":
    sys.exit(main())
