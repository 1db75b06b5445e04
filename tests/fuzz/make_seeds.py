# SPDX-License-Identifier: Apache-2.0
"""Writes the seed corpora of the verifier fuzzers (run once; the output is committed):
correctly signed requests from botocore at 2013-05-24T00:00:00Z, so the fuzzers start from
requests that verify and mutate their way out."""

import datetime
import hashlib
import os
import sys
from unittest import mock
from urllib.parse import urlsplit

import botocore.auth
import botocore.session
from botocore.awsrequest import AWSRequest
from botocore.config import Config
from botocore.credentials import Credentials

ACCESS_KEY = "AKIAIOSFODNN7EXAMPLE"
SECRET_KEY = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
TOKEN = "FQoGZXIvYXdzE//token+with/slashes="
NOW = datetime.datetime(2013, 5, 24)
HERE = os.path.dirname(os.path.abspath(__file__))


def fixed_now(remove_tzinfo=True):
    return NOW if remove_tzinfo else NOW.replace(tzinfo=datetime.timezone.utc)


def write(corpus, name, data):
    path = os.path.join(HERE, "corpus", corpus)
    os.makedirs(path, exist_ok=True)
    with open(os.path.join(path, name), "wb") as f:
        f.write(data.encode("utf-8") if isinstance(data, str) else data)


def target_of(url):
    parts = urlsplit(url)
    return parts.path + ("?" + parts.query if parts.query else "")


def request_seed(flags, method, url, headers, body=""):
    lines = [flags, method, target_of(url), "Host:" + urlsplit(url).netloc]
    lines += [f"{k}:{v}" for k, v in headers.items()]
    return "\n".join(lines) + "\n\n" + body


def main():
    session = botocore.session.get_session()
    captured = {}
    original = botocore.auth.S3SigV4QueryAuth.add_auth

    def capture(self, request):
        original(self, request)
        captured["headers"] = dict(request.headers.items())

    with mock.patch.object(botocore.auth, "get_current_datetime", fixed_now), \
            mock.patch.object(botocore.auth.S3SigV4QueryAuth, "add_auth", capture):
        for token in [None, TOKEN]:
            client = session.create_client(
                "s3", region_name="us-east-1", aws_access_key_id=ACCESS_KEY, aws_secret_access_key=SECRET_KEY,
                aws_session_token=token,
                config=Config(signature_version="s3v4", s3={"addressing_style": "virtual"}))
            suffix = "-token" if token else ""
            for i, (op, params) in enumerate([
                ("get_object", {"Key": "test.txt"}),
                ("get_object", {"Key": "dir/a b+c%d~e.txt", "ResponseContentDisposition": "attachment; filename=\"x.pdf\"",
                                "ResponseContentType": "application/pdf", "VersionId": "v1"}),
                ("put_object", {"Key": "up/\u00e9t\u00e9 1.png", "ContentType": "image/png",
                                "Metadata": {"owner": "me"}, "ServerSideEncryption": "AES256"}),
                ("delete_object", {"Key": "//double//slash/./.."}),
            ]):
                captured.clear()
                url = client.generate_presigned_url(op, Params={"Bucket": "examplebucket", **params}, ExpiresIn=3600)
                method = {"get_object": "GET", "put_object": "PUT", "delete_object": "DELETE"}[op]
                if op == "get_object":
                    write("verify_target", f"presigned-{i}{suffix}", target_of(url))
                flags = "s" + ("t" if token else "")
                seed = request_seed(flags, method, url, captured["headers"])
                write("verify_request", f"query-{i}{suffix}", seed)
                write("verify_paths", f"query-{i}{suffix}", seed)

        # Header auth (S3 rules), with and without a body check and a token.
        for token in [None, TOKEN]:
            creds = Credentials(ACCESS_KEY, SECRET_KEY, token)
            for i, (method, path, body, extra) in enumerate([
                ("GET", "/test.txt", "", {"Range": "bytes=0-9"}),
                ("PUT", "/dir/file%20name.txt", "Welcome to Amazon S3.", {"Content-Type": "text/plain"}),
                ("GET", "/?list-type=2&prefix=a%2Fb&max-keys=2", "", {}),
            ]):
                url = "https://examplebucket.s3.amazonaws.com" + path
                request = AWSRequest(method=method, url=url, data=body.encode(), headers=dict(extra))
                request.headers["x-amz-content-sha256"] = hashlib.sha256(body.encode()).hexdigest()
                botocore.auth.S3SigV4Auth(creds, "s3", "us-east-1").add_auth(request)
                headers = {k: v for k, v in request.headers.items()}
                flags = "sb" + ("t" if token else "")
                seed = request_seed(flags, method, url, headers, body)
                write("verify_request", f"header-{i}{'-token' if token else ''}", seed)
                if i == 0 and not token:
                    write("verify_paths", "header-0", seed)
        # Generic service rules (normalized, double-encoded path, body hashed).
        creds = Credentials(ACCESS_KEY, SECRET_KEY)
        url = "https://examplebucket.s3.amazonaws.com/a/./b/../c%20d?Param1=value1&Param1=value0"
        request = AWSRequest(method="POST", url=url, data=b"Param1=value1", headers={"Content-Type": "text/plain"})
        botocore.auth.SigV4Auth(creds, "s3", "us-east-1").add_auth(request)
        write("verify_request", "header-generic", request_seed("b", "POST", url, dict(request.headers.items()),
                                                               "Param1=value1"))

    # A few malformed shapes to start from.
    write("verify_target", "empty", "")
    write("verify_target", "no-auth", "/bucket/key?versionId=1&acl")
    write("verify_target", "escapes", "/%E2%98%83/%%zz?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Expires=%2B1&&=&a=b=c")
    write("verify_request", "authorization-garbage",
          "s\nGET\n/\nHost:h\nAuthorization:AWS4-HMAC-SHA256 Credential=/,SignedHeaders=,Signature=\nx-amz-date:x\n\n")
    write("verify_paths", "authorization-garbage",
          "s\nGET\n/\nHost:h\nAuthorization:AWS4-HMAC-SHA256 Credential=/,SignedHeaders=,Signature=\nx-amz-date:x\n\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
