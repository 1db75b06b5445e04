# SPDX-License-Identifier: Apache-2.0
"""Prints presigned S3 URLs made by botocore's generate_presigned_url, one JSON object a line, for
verify_test's differential case. Deterministic: a fixed seed, and botocore's clock replaced by a
chosen signing time per URL. Each line holds what a server receives: method, url, the headers
botocore signed (which the client must send), the signing time and the lifetime."""

import datetime
import json
import random
import sys
from unittest import mock

import botocore.auth
import botocore.session
from botocore.config import Config

ACCESS_KEY = "AKIAIOSFODNN7EXAMPLE"
SECRET_KEY = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
# Characters that S3 keys carry and URL encoders disagree on.
KEY_PIECES = ["a", "Z", "0", " ", "+", "%", "~", "*", "=", "&", "?", "#", "/", "//", "é", "☃", "𝄞",
              "!", "'", "(", ")", ";", ":", "@", "$", ",", "[", "]", "\"", "^", "`", "{", "}", "|",
              "%20", "..", ".", "-", "_"]

signing_time = [datetime.datetime(2013, 5, 24)]


def fixed_now(remove_tzinfo=True):
    if remove_tzinfo:
        return signing_time[0]
    return signing_time[0].replace(tzinfo=datetime.timezone.utc)


captured = {}
original_add_auth = botocore.auth.S3SigV4QueryAuth.add_auth


def capturing_add_auth(self, request):
    original_add_auth(self, request)
    captured["headers"] = {k: v for k, v in request.headers.items()}


def random_key(rng):
    while True:
        key = "".join(rng.choice(KEY_PIECES) for _ in range(rng.randint(1, 12)))
        # S3 keys are 1..1024 bytes; botocore refuses none of these.
        if key:
            return key


def main():
    rng = random.Random(20130524)
    session = botocore.session.get_session()
    out = []
    with mock.patch.object(botocore.auth, "get_current_datetime", fixed_now), \
            mock.patch.object(botocore.auth.S3SigV4QueryAuth, "add_auth", capturing_add_auth):
        for region in ["us-east-1", "eu-west-1"]:
            for style in ["path", "virtual"]:
                for with_token in [False, True]:
                    token = None
                    if with_token:
                        token = "FQoGZXIvYXdzE" + "".join(
                            rng.choice("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=")
                            for _ in range(rng.randint(20, 300)))
                    client = session.create_client(
                        "s3", region_name=region, aws_access_key_id=ACCESS_KEY,
                        aws_secret_access_key=SECRET_KEY, aws_session_token=token,
                        config=Config(signature_version="s3v4", s3={"addressing_style": style}))
                    for i in range(16):
                        signing_time[0] = datetime.datetime(2013, 5, 24) + datetime.timedelta(
                            seconds=rng.randint(0, 400 * 86400))
                        expires = rng.choice([1, 60, 3600, 86400, 604800, rng.randint(1, 604800)])
                        key = random_key(rng)
                        operation = rng.choice(["get_object", "put_object", "head_object", "delete_object"])
                        params = {"Bucket": "my-bucket", "Key": key}
                        if operation == "put_object":
                            if rng.random() < 0.7:
                                params["ContentType"] = rng.choice(["image/png", "text/plain; charset=utf-8",
                                                                    "application/octet-stream"])
                            if rng.random() < 0.5:
                                params["Metadata"] = {"owner": "me", "purpose": "a b"}
                            if rng.random() < 0.3:
                                params["ServerSideEncryption"] = "AES256"
                            if rng.random() < 0.3:
                                params["ContentDisposition"] = 'attachment; filename="x y.txt"'
                        if operation == "get_object" and rng.random() < 0.5:
                            params["ResponseContentDisposition"] = 'attachment; filename="r\u00e9sum\u00e9 & co.pdf"'
                            params["ResponseContentType"] = "application/pdf"
                        captured.clear()
                        url = client.generate_presigned_url(operation, Params=params, ExpiresIn=expires)
                        method = {"get_object": "GET", "put_object": "PUT", "head_object": "HEAD",
                                  "delete_object": "DELETE"}[operation]
                        headers = captured.get("headers", {})
                        out.append({
                            "method": method,
                            "url": url,
                            "key": key,
                            "region": region,
                            "headers": headers,
                            "token": token or "",
                            "signed_at": signing_time[0].strftime("%Y%m%dT%H%M%SZ"),
                            "expires": expires,
                        })
    for line in out:
        sys.stdout.write(json.dumps(line, ensure_ascii=True) + "\n")


if __name__ == "__main__":
    main()
