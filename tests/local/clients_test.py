#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Real S3 clients against presign's local store: boto3 and the AWS CLI (each when installed).

usage: clients_test.py LOCAL_STORE_SERVER_BINARY
A missing client is reported as "skipped: ..." (a failure when CI=true).
"""
import datetime
import gzip
import hashlib
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import urllib.error
import urllib.request

ACCESS_KEY = "AKIDCLIENTSTEST0001"
SECRET_KEY = "clients-test-secret-0123456789/abcdef+XYZ"
BUCKET = "clients"
failures = []


def check(condition, what):
    if condition:
        print("ok:", what)
    else:
        print("FAIL:", what)
        failures.append(what)


def start_store(binary, data_dir):
    env = dict(os.environ, PRESIGN_TEST_ACCESS_KEY_ID=ACCESS_KEY, PRESIGN_TEST_SECRET_ACCESS_KEY=SECRET_KEY)
    proc = subprocess.Popen([binary, data_dir], stdout=subprocess.PIPE, env=env, text=True)
    line = proc.stdout.readline().strip()
    if not line.startswith("listening s3="):
        proc.kill()
        raise SystemExit("store did not start: %r" % line)
    return proc, line.split("=", 1)[1]


def multipart_checks(s3, ClientError):
    """ListParts (paged), ListMultipartUploads, Complete's checks and its ETag, as S3 answers them."""
    key = "mp/listed.bin"
    upload_id = s3.create_multipart_upload(Bucket=BUCKET, Key=key, ContentType="video/mp4")["UploadId"]
    chunks = [os.urandom(5 * 1024 * 1024) for _ in range(3)] + [b"tail"]
    etags = {}
    for number, chunk in zip((4, 1, 3, 2), (chunks[3], chunks[0], chunks[2], chunks[1])):
        etags[number] = s3.upload_part(Bucket=BUCKET, Key=key, UploadId=upload_id, PartNumber=number,
                                       Body=chunk)["ETag"]
    check(etags[1] == '"%s"' % hashlib.md5(chunks[0]).hexdigest(), "UploadPart ETag is the part's MD5")
    pages = list(s3.get_paginator("list_parts").paginate(Bucket=BUCKET, Key=key, UploadId=upload_id,
                                                           PaginationConfig={"PageSize": 3}))
    listed = [(p["PartNumber"], p["ETag"], p["Size"]) for page in pages for p in page.get("Parts", [])]
    check(len(pages) == 2 and listed == [(n, etags[n], len(chunks[n - 1])) for n in (1, 2, 3, 4)],
          "ListParts pages by part number with ETag and size: %r" % [(n, s) for n, _, s in listed])
    other = s3.create_multipart_upload(Bucket=BUCKET, Key="mp/another.bin")["UploadId"]
    uploads = s3.list_multipart_uploads(Bucket=BUCKET, Prefix="mp/")
    check([(u["Key"], u["UploadId"]) for u in uploads.get("Uploads", [])] ==
          [("mp/another.bin", other), (key, upload_id)], "ListMultipartUploads lists both, by key")
    grouped = s3.list_multipart_uploads(Bucket=BUCKET, Delimiter="/")
    check({p["Prefix"] for p in grouped.get("CommonPrefixes", [])} >= {"mp/"}, "ListMultipartUploads delimiter")
    s3.abort_multipart_upload(Bucket=BUCKET, Key="mp/another.bin", UploadId=other)

    parts = [{"PartNumber": n, "ETag": etags[n]} for n in (1, 2, 3, 4)]
    check(code_of(lambda: s3.complete_multipart_upload(
        Bucket=BUCKET, Key=key, UploadId=upload_id,
        MultipartUpload={"Parts": [parts[1], parts[0], parts[2], parts[3]]})) == "InvalidPartOrder",
        "Complete with reordered parts: InvalidPartOrder")
    wrong = [dict(p) for p in parts]
    wrong[2]["ETag"] = '"%s"' % ("0" * 32)
    check(code_of(lambda: s3.complete_multipart_upload(Bucket=BUCKET, Key=key, UploadId=upload_id,
                                                       MultipartUpload={"Parts": wrong})) == "InvalidPart",
          "Complete with a wrong ETag: InvalidPart")
    missing = parts[:3] + [{"PartNumber": 6, "ETag": etags[4]}]
    check(code_of(lambda: s3.complete_multipart_upload(Bucket=BUCKET, Key=key, UploadId=upload_id,
                                                       MultipartUpload={"Parts": missing})) == "InvalidPart",
          "Complete with a part never uploaded: InvalidPart")
    check(code_of(lambda: s3.head_object(Bucket=BUCKET, Key=key)) in ("404", "NoSuchKey"),
          "no object before a successful Complete")
    done = s3.complete_multipart_upload(Bucket=BUCKET, Key=key, UploadId=upload_id, MultipartUpload={"Parts": parts})
    expected = hashlib.md5(b"".join(bytes.fromhex(etags[n].strip('"')) for n in (1, 2, 3, 4))).hexdigest()
    check(done["ETag"] == '"%s-4"' % expected, "final ETag is MD5 of the part MD5s, -4: %s" % done["ETag"])
    body = s3.get_object(Bucket=BUCKET, Key=key)
    check(body["Body"].read() == b"".join(chunks) and body["ContentType"] == "video/mp4",
          "the completed object is the parts in order, with the type given at creation")
    check(code_of(lambda: s3.list_parts(Bucket=BUCKET, Key=key, UploadId=upload_id)) == "NoSuchUpload",
          "a completed upload is gone: NoSuchUpload")

    # Conditional Complete (S3 since 2024): If-None-Match: * never overwrites; a refused Complete
    # keeps the upload, which can still be completed without the condition or aborted.
    again = s3.create_multipart_upload(Bucket=BUCKET, Key=key)["UploadId"]
    tag = s3.upload_part(Bucket=BUCKET, Key=key, UploadId=again, PartNumber=1, Body=b"second")["ETag"]
    one = {"Parts": [{"PartNumber": 1, "ETag": tag}]}
    check(code_of(lambda: s3.complete_multipart_upload(Bucket=BUCKET, Key=key, UploadId=again, MultipartUpload=one,
                                                       IfNoneMatch="*")) == "PreconditionFailed",
          "Complete with If-None-Match: * over an existing object: 412 PreconditionFailed")
    check(s3.get_object(Bucket=BUCKET, Key=key)["Body"].read() == b"".join(chunks), "the existing object is intact")
    check([p["PartNumber"] for p in s3.list_parts(Bucket=BUCKET, Key=key, UploadId=again).get("Parts", [])] == [1],
          "the refused upload keeps its parts")
    check(code_of(lambda: s3.complete_multipart_upload(Bucket=BUCKET, Key=key, UploadId=again, MultipartUpload=one,
                                                       IfMatch='"%s"' % ("0" * 32))) == "PreconditionFailed",
          "Complete with If-Match of another ETag: 412")
    swapped = s3.complete_multipart_upload(Bucket=BUCKET, Key=key, UploadId=again, MultipartUpload=one,
                                           IfMatch=done["ETag"])
    check(s3.get_object(Bucket=BUCKET, Key=key)["Body"].read() == b"second" and swapped["ETag"].endswith('-1"'),
          "Complete with If-Match of the current ETag replaces it")
    fresh = s3.create_multipart_upload(Bucket=BUCKET, Key="mp/fresh.bin")["UploadId"]
    tag = s3.upload_part(Bucket=BUCKET, Key="mp/fresh.bin", UploadId=fresh, PartNumber=1, Body=b"new")["ETag"]
    check(code_of(lambda: s3.complete_multipart_upload(Bucket=BUCKET, Key="mp/fresh.bin", UploadId=fresh,
                                                       MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": tag}]},
                                                       IfMatch=done["ETag"])) == "NoSuchKey",
          "Complete with If-Match on a missing key: 404 NoSuchKey")
    s3.complete_multipart_upload(Bucket=BUCKET, Key="mp/fresh.bin", UploadId=fresh, IfNoneMatch="*",
                                 MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": tag}]})
    check(s3.get_object(Bucket=BUCKET, Key="mp/fresh.bin")["Body"].read() == b"new",
          "Complete with If-None-Match: * on a new key creates it")


def protocol_checks(s3, ClientError, scratch):
    """Issue 17, items 4 to 6 with a real client: bodies stored exactly as sent whatever their
    Content-Encoding, conditional requests as S3 answers them, a Range S3 cannot parse ignored."""
    payload = gzip.compress(b"hello, compressed world\n" * 1000)
    s3.put_object(Bucket=BUCKET, Key="enc/data.gz", Body=payload, ContentEncoding="gzip", ContentType="text/plain")
    got = s3.get_object(Bucket=BUCKET, Key="enc/data.gz")
    check(got["Body"].read() == payload and got.get("ContentEncoding") == "gzip",
          "boto3 put_object ContentEncoding=gzip: stored and returned byte for byte, with its Content-Encoding")
    status, data, headers = http("GET", s3.generate_presigned_url(
        "get_object", Params={"Bucket": BUCKET, "Key": "enc/data.gz"}, ExpiresIn=60))
    check(status == 200 and data == payload and headers.get("Content-Encoding") == "gzip",
          "a presigned GET returns the gzip bytes as stored, Content-Encoding: gzip")
    # A body that claims an encoding it does not have is stored as sent too (never decoded).
    s3.put_object(Bucket=BUCKET, Key="enc/not-gzip", Body=b"plain bytes", ContentEncoding="br")
    check(s3.get_object(Bucket=BUCKET, Key="enc/not-gzip")["Body"].read() == b"plain bytes",
          "a body labelled br that is not brotli is stored as sent")

    s3.put_object(Bucket=BUCKET, Key="cond/one", Body=b"0123456789")
    head = s3.head_object(Bucket=BUCKET, Key="cond/one")
    etag, modified = head["ETag"], head["LastModified"]
    check(code_of(lambda: s3.put_object(Bucket=BUCKET, Key="cond/one", Body=b"x", IfNoneMatch="*")) in
          ("PreconditionFailed", "412"), "PUT If-None-Match: * on an existing key: 412 PreconditionFailed")
    check(s3.get_object(Bucket=BUCKET, Key="cond/one")["Body"].read() == b"0123456789",
          "the refused conditional PUT left the object alone")
    s3.put_object(Bucket=BUCKET, Key="cond/new", Body=b"new", IfNoneMatch="*")
    check(s3.get_object(Bucket=BUCKET, Key="cond/new")["Body"].read() == b"new",
          "PUT If-None-Match: * on a new key stores it")
    check(code_of(lambda: s3.put_object(Bucket=BUCKET, Key="cond/one", Body=b"x", IfMatch='"%s"' % ("0" * 32))) in
          ("PreconditionFailed", "412"), "PUT If-Match with another ETag: 412")
    s3.put_object(Bucket=BUCKET, Key="cond/new", Body=b"newer", IfMatch=s3.head_object(Bucket=BUCKET, Key="cond/new")["ETag"])
    check(s3.get_object(Bucket=BUCKET, Key="cond/new")["Body"].read() == b"newer", "PUT If-Match with its ETag")
    check(code_of(lambda: s3.get_object(Bucket=BUCKET, Key="cond/one", IfMatch='"nope"')) in
          ("PreconditionFailed", "412"), "GET If-Match with another ETag: 412")
    check(code_of(lambda: s3.head_object(Bucket=BUCKET, Key="cond/one", IfMatch='"nope"')) == "412",
          "HEAD If-Match with another ETag: 412")
    check(code_of(lambda: s3.get_object(Bucket=BUCKET, Key="cond/one", IfNoneMatch=etag)) == "304",
          "GET If-None-Match with its ETag: 304")
    check(code_of(lambda: s3.head_object(Bucket=BUCKET, Key="cond/one", IfNoneMatch=etag)) == "304",
          "HEAD If-None-Match with its ETag: 304")
    later = modified + datetime.timedelta(hours=1)
    earlier = modified - datetime.timedelta(hours=1)
    check(code_of(lambda: s3.get_object(Bucket=BUCKET, Key="cond/one", IfModifiedSince=modified)) == "304",
          "GET If-Modified-Since its Last-Modified: 304")
    check(s3.get_object(Bucket=BUCKET, Key="cond/one", IfModifiedSince=earlier)["Body"].read() == b"0123456789",
          "GET If-Modified-Since an earlier date: 200")
    check(code_of(lambda: s3.get_object(Bucket=BUCKET, Key="cond/one", IfUnmodifiedSince=earlier)) in
          ("PreconditionFailed", "412"), "GET If-Unmodified-Since an earlier date: 412")
    # RFC 9110 precedence as S3 applies it: a true If-Match overrides a false If-Unmodified-Since,
    # a false If-None-Match overrides a true If-Modified-Since.
    check(s3.get_object(Bucket=BUCKET, Key="cond/one", IfMatch=etag, IfUnmodifiedSince=earlier)["Body"].read() ==
          b"0123456789", "If-Match true + If-Unmodified-Since false: 200")
    check(code_of(lambda: s3.get_object(Bucket=BUCKET, Key="cond/one", IfNoneMatch=etag, IfModifiedSince=earlier)) ==
          "304", "If-None-Match false + If-Modified-Since true: 304")
    check(s3.get_object(Bucket=BUCKET, Key="cond/one", IfNoneMatch='"other"', IfModifiedSince=later)["Body"].read()
          == b"0123456789", "If-None-Match true + If-Modified-Since false: 200")

    for spec in ("bytes=5-2", "items=0-1", "bytes=x-3"):
        got = s3.get_object(Bucket=BUCKET, Key="cond/one", Range=spec)
        check(got["ResponseMetadata"]["HTTPStatusCode"] == 200 and got["Body"].read() == b"0123456789",
              "Range %s (not parsable): 200 with the whole object" % spec)
    got = s3.get_object(Bucket=BUCKET, Key="cond/one", Range="bytes=2-4")
    check(got["ResponseMetadata"]["HTTPStatusCode"] == 206 and got["Body"].read() == b"234", "Range bytes=2-4: 206")
    check(code_of(lambda: s3.get_object(Bucket=BUCKET, Key="cond/one", Range="bytes=100-")) == "InvalidRange",
          "Range bytes=100- of 10 bytes: 416 InvalidRange")


def code_of(call):
    try:
        call()
    except Exception as error:  # botocore's ClientError
        response = getattr(error, "response", {})
        return response.get("Error", {}).get("Code")
    return None


def client_env(endpoint):
    env = dict(os.environ)
    for name in list(env):
        if name.startswith("AWS_"):
            del env[name]
    env.update(AWS_ACCESS_KEY_ID=ACCESS_KEY, AWS_SECRET_ACCESS_KEY=SECRET_KEY, AWS_DEFAULT_REGION="us-east-1",
               AWS_CONFIG_FILE=os.devnull, AWS_SHARED_CREDENTIALS_FILE=os.devnull,
               AWS_EC2_METADATA_DISABLED="true")
    return env


def http(method, url, data=None, headers=None):
    request = urllib.request.Request(url, data=data, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, response.read(), dict(response.headers)
    except urllib.error.HTTPError as error:
        return error.code, error.read(), dict(error.headers)


def boto3_tests(endpoint, scratch):
    try:
        import boto3
        import botocore.config
        from botocore.exceptions import ClientError
    except ImportError:
        return "boto3 not installed"
    os.environ.update(client_env(endpoint))
    config = botocore.config.Config(s3={"addressing_style": "path"}, retries={"max_attempts": 1},
                                    signature_version="s3v4")
    s3 = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1", config=config)

    s3.create_bucket(Bucket=BUCKET)
    s3.head_bucket(Bucket=BUCKET)
    check(True, "boto3 create_bucket + head_bucket")

    body = os.urandom(300_000)
    put = s3.put_object(Bucket=BUCKET, Key="dir/one.bin", Body=body, ContentType="application/x-test",
                        Metadata={"owner": "me"})
    check(put["ETag"] == '"%s"' % hashlib.md5(body).hexdigest(), "boto3 put_object ETag is the MD5")
    got = s3.get_object(Bucket=BUCKET, Key="dir/one.bin")
    check(got["Body"].read() == body, "boto3 get_object returns the bytes")
    check(got["ContentType"] == "application/x-test", "boto3 get_object content type kept")
    check(got["Metadata"].get("owner") == "me", "boto3 user metadata kept")
    ranged = s3.get_object(Bucket=BUCKET, Key="dir/one.bin", Range="bytes=10-19")
    check(ranged["Body"].read() == body[10:20] and ranged["ContentRange"] == "bytes 10-19/300000",
          "boto3 ranged get")
    head = s3.head_object(Bucket=BUCKET, Key="dir/one.bin")
    check(head["ContentLength"] == len(body), "boto3 head_object length")

    s3.put_object(Bucket=BUCKET, Key="dir/two.txt", Body=b"two")
    s3.put_object(Bucket=BUCKET, Key="top.txt", Body=b"top")
    s3.put_object(Bucket=BUCKET, Key="odd key+with%signs & spaces", Body=b"odd")
    listed = s3.list_objects_v2(Bucket=BUCKET, Prefix="dir/")
    check([o["Key"] for o in listed.get("Contents", [])] == ["dir/one.bin", "dir/two.txt"], "boto3 list prefix")
    grouped = s3.list_objects_v2(Bucket=BUCKET, Delimiter="/")
    check([p["Prefix"] for p in grouped.get("CommonPrefixes", [])] == ["dir/"] and
          sorted(o["Key"] for o in grouped.get("Contents", [])) == ["odd key+with%signs & spaces", "top.txt"],
          "boto3 list with delimiter")
    keys = []
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=BUCKET, PaginationConfig={"PageSize": 2}):
        keys += [o["Key"] for o in page.get("Contents", [])]
    check(keys == sorted(keys) and len(keys) == 4, "boto3 paginated listing (page size 2)")

    try:
        s3.get_object(Bucket=BUCKET, Key="missing")
        check(False, "boto3 NoSuchKey")
    except ClientError as error:
        check(error.response["Error"]["Code"] == "NoSuchKey", "boto3 NoSuchKey")

    source = os.path.join(scratch, "upload.bin")
    with open(source, "wb") as f:
        f.write(os.urandom(5 * 1024 * 1024 + 17))
    s3.upload_file(source, BUCKET, "files/upload.bin")
    target = os.path.join(scratch, "download.bin")
    s3.download_file(BUCKET, "files/upload.bin", target)
    check(open(source, "rb").read() == open(target, "rb").read(), "boto3 upload_file/download_file")

    # Above 8 MiB boto3 switches to multipart uploads and ranged, parallel downloads.
    big = os.path.join(scratch, "big.bin")
    with open(big, "wb") as f:
        f.write(os.urandom(21 * 1024 * 1024 + 3))
    s3.upload_file(big, BUCKET, "files/big.bin")
    head = s3.head_object(Bucket=BUCKET, Key="files/big.bin")
    check(head["ETag"].endswith('-3"') and head["ContentLength"] == 21 * 1024 * 1024 + 3,
          "boto3 multipart upload_file: ETag %s" % head["ETag"])
    s3.download_file(BUCKET, "files/big.bin", target)
    check(open(big, "rb").read() == open(target, "rb").read(), "boto3 multipart upload, ranged download")
    upload = s3.create_multipart_upload(Bucket=BUCKET, Key="aborted")
    s3.upload_part(Bucket=BUCKET, Key="aborted", UploadId=upload["UploadId"], PartNumber=1, Body=b"x")
    s3.abort_multipart_upload(Bucket=BUCKET, Key="aborted", UploadId=upload["UploadId"])
    try:
        s3.complete_multipart_upload(Bucket=BUCKET, Key="aborted", UploadId=upload["UploadId"],
                                     MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": "x"}]})
        check(False, "completing an aborted upload fails")
    except ClientError as error:
        check(error.response["Error"]["Code"] == "NoSuchUpload", "completing an aborted upload: NoSuchUpload")
    upload = s3.create_multipart_upload(Bucket=BUCKET, Key="small-parts")
    etags = [s3.upload_part(Bucket=BUCKET, Key="small-parts", UploadId=upload["UploadId"], PartNumber=n,
                            Body=b"tiny")["ETag"] for n in (1, 2)]
    try:
        s3.complete_multipart_upload(Bucket=BUCKET, Key="small-parts", UploadId=upload["UploadId"],
                                     MultipartUpload={"Parts": [{"PartNumber": n, "ETag": e} for n, e in zip((1, 2), etags)]})
        check(False, "parts under 5 MiB refused")
    except ClientError as error:
        check(error.response["Error"]["Code"] == "EntityTooSmall", "parts under 5 MiB: EntityTooSmall")
    multipart_checks(s3, ClientError)
    protocol_checks(s3, ClientError, scratch)

    url = s3.generate_presigned_url("get_object", Params={"Bucket": BUCKET, "Key": "dir/two.txt"}, ExpiresIn=60)
    status, data, _ = http("GET", url)
    check(status == 200 and data == b"two", "boto3 presigned GET URL works")
    status, data, _ = http("GET", url[:-1] + ("0" if url[-1] != "0" else "1"))
    check(status == 403 and b"<Code>SignatureDoesNotMatch</Code>" in data, "tampered boto3 URL refused")
    status, data, _ = http("PUT", url, data=b"overwrite")
    check(status == 403 and b"<Code>SignatureDoesNotMatch</Code>" in data, "GET URL refused for PUT")
    put_url = s3.generate_presigned_url("put_object", Params={"Bucket": BUCKET, "Key": "presigned.txt"}, ExpiresIn=60)
    status, _, _ = http("PUT", put_url, data=b"presigned body")
    check(status == 200 and s3.get_object(Bucket=BUCKET, Key="presigned.txt")["Body"].read() == b"presigned body",
          "boto3 presigned PUT URL works")

    wrong = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1", config=config,
                         aws_access_key_id=ACCESS_KEY, aws_secret_access_key="not-the-secret")
    try:
        wrong.get_object(Bucket=BUCKET, Key="dir/two.txt")
        check(False, "wrong secret refused")
    except ClientError as error:
        check(error.response["Error"]["Code"] == "SignatureDoesNotMatch", "wrong secret: SignatureDoesNotMatch")

    s3.delete_object(Bucket=BUCKET, Key="top.txt")
    try:
        s3.head_object(Bucket=BUCKET, Key="top.txt")
        check(False, "deleted object is gone")
    except ClientError as error:
        check(error.response["Error"]["Code"] in ("404", "NoSuchKey"), "deleted object is gone")
    return None


ODD_KEYS = ["files/a b.txt", "files/a+b.txt", "files/100%.csv", "files/\ud55c\uae00/x.txt",
            "files/run books/x.txt", "files/tilde~star*.txt", "files/\u00e9t\u00e9 \u2603.txt"]


def listing_tests(endpoint, scratch):
    """1,200 keys plus odd ones, listed by boto3's paginator and `aws s3 ls --recursive`."""
    try:
        import boto3
        import botocore.config
        from concurrent.futures import ThreadPoolExecutor
    except ImportError:
        return "boto3 not installed"
    os.environ.update(client_env(endpoint))
    config = botocore.config.Config(s3={"addressing_style": "path"}, retries={"max_attempts": 1},
                                    signature_version="s3v4", max_pool_connections=8)
    s3 = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1", config=config)
    bucket = "listing"
    s3.create_bucket(Bucket=bucket)
    many = ["files/many/%04d.bin" % i for i in range(1200)]
    with ThreadPoolExecutor(max_workers=4) as pool:
        list(pool.map(lambda key: s3.put_object(Bucket=bucket, Key=key, Body=b"x"), many + ODD_KEYS))
    s3.put_object(Bucket=bucket, Key="elsewhere.txt", Body=b"y")
    expected = sorted(many + ODD_KEYS, key=lambda k: k.encode())

    # botocore asks for encoding-type=url on its own and decodes with unquote_plus.
    pages = list(s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix="files/"))
    listed = [o["Key"] for page in pages for o in page.get("Contents", [])]
    check(listed == expected, "boto3 paginator lists 1,207 keys (spaces, +, %, unicode) in UTF-8 order")
    check([page["KeyCount"] for page in pages] == [1000, 207], "boto3 paginator: pages of 1000 and 207")
    small = list(s3.get_paginator("list_objects_v2").paginate(
        Bucket=bucket, Prefix="files/", Delimiter="/", PaginationConfig={"PageSize": 2}))
    prefixes = [p["Prefix"] for page in small for p in page.get("CommonPrefixes", [])]
    keys = [o["Key"] for page in small for o in page.get("Contents", [])]
    check(prefixes == ["files/many/", "files/run books/", "files/\ud55c\uae00/"] and
          keys == [k for k in expected if "/" not in k[len("files/"):]],
          "boto3 paginator with delimiter and page size 2: each common prefix once")
    v1 = list(s3.get_paginator("list_objects").paginate(Bucket=bucket, Prefix="files/",
                                                         PaginationConfig={"PageSize": 500}))
    check([o["Key"] for page in v1 for o in page.get("Contents", [])] == expected,
          "boto3 ListObjects (V1) paginator resumes after the last key")

    # Asked for explicitly, botocore leaves the values as the store spelled them.
    raw = s3.list_objects_v2(Bucket=bucket, Prefix="files/", Delimiter="/", EncodingType="url")
    raw_keys = [o["Key"] for o in raw.get("Contents", [])]
    raw_prefixes = [p["Prefix"] for p in raw.get("CommonPrefixes", [])]
    check("files/a+b.txt" in raw_keys and "files/a%2Bb.txt" in raw_keys and "files/100%25.csv" in raw_keys and
          "files/tilde%7Estar*.txt" in raw_keys and "files/run+books/" in raw_prefixes and
          "files/%ED%95%9C%EA%B8%80/" in raw_prefixes, "encoding-type=url spelled as S3 does: %r %r"
          % (raw_keys, raw_prefixes))

    aws = shutil.which("aws")
    if aws is None:
        return "aws CLI not installed"
    env = client_env(endpoint)
    done = subprocess.run([aws, "--endpoint-url", endpoint, "s3", "ls", "--recursive", "s3://%s/files/" % bucket],
                          env=env, capture_output=True, text=True, timeout=120)
    # Each line: date time size key (the key may hold spaces).
    lines = [line.split(None, 3)[3] for line in done.stdout.splitlines() if line.strip()]
    check(done.returncode == 0 and lines == expected, "aws s3 ls --recursive lists all 1,207 keys: " +
          done.stderr.strip())
    for key in ODD_KEYS[:3]:
        s3.delete_object(Bucket=bucket, Key=key)
    again = [o["Key"] for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix="files/")
             for o in page.get("Contents", [])]
    check(again == [k for k in expected if k not in ODD_KEYS[:3]], "deleted keys leave the listing")
    return None


def aws_cli_tests(endpoint, scratch):
    aws = shutil.which("aws")
    if aws is None:
        return "aws CLI not installed"
    env = client_env(endpoint)

    def run(*args):
        return subprocess.run([aws, "--endpoint-url", endpoint, *args], env=env, capture_output=True,
                              text=True, timeout=120)

    made = run("s3", "mb", "s3://cli-bucket")
    check(made.returncode == 0, "aws s3 mb: " + made.stderr.strip())
    source = os.path.join(scratch, "cli-source.bin")
    with open(source, "wb") as f:
        f.write(os.urandom(20 * 1024 * 1024 + 5))
    up = run("s3", "cp", source, "s3://cli-bucket/some dir/file.bin")
    check(up.returncode == 0, "aws s3 cp upload (multipart above 8 MiB): " + up.stderr.strip())
    target = os.path.join(scratch, "cli-target.bin")
    down = run("s3", "cp", "s3://cli-bucket/some dir/file.bin", target)
    check(down.returncode == 0 and open(source, "rb").read() == open(target, "rb").read(),
          "aws s3 cp download returns the same bytes: " + down.stderr.strip())
    listed = run("s3", "ls", "s3://cli-bucket/some dir/")
    check(listed.returncode == 0 and "file.bin" in listed.stdout, "aws s3 ls: " + listed.stderr.strip())
    head = run("s3api", "head-object", "--bucket", "cli-bucket", "--key", "some dir/file.bin")
    check(head.returncode == 0 and str(20 * 1024 * 1024 + 5) in head.stdout, "aws s3api head-object")
    missing = run("s3api", "get-object", "--bucket", "cli-bucket", "--key", "nope", os.path.join(scratch, "x"))
    check(missing.returncode != 0 and "NoSuchKey" in missing.stderr, "aws s3api get-object: NoSuchKey")
    packed = os.path.join(scratch, "cli-packed.gz")
    with open(packed, "wb") as f:
        f.write(gzip.compress(os.urandom(4096) + b"\0" * 100000))
    up = run("s3", "cp", packed, "s3://cli-bucket/packed.gz", "--content-encoding", "gzip")
    head = run("s3api", "head-object", "--bucket", "cli-bucket", "--key", "packed.gz")
    fetched = os.path.join(scratch, "cli-packed-back.gz")
    down = run("s3", "cp", "s3://cli-bucket/packed.gz", fetched)
    check(up.returncode == 0 and down.returncode == 0 and '"ContentEncoding": "gzip"' in head.stdout and
          open(packed, "rb").read() == open(fetched, "rb").read(),
          "aws s3 cp --content-encoding gzip round-trips byte for byte: " + up.stderr.strip() + down.stderr.strip())
    removed = run("s3", "rm", "s3://cli-bucket/some dir/file.bin")
    check(removed.returncode == 0, "aws s3 rm: " + removed.stderr.strip())
    return None


def main():
    binary = sys.argv[1]
    scratch = tempfile.mkdtemp(prefix="presign-clients-")
    proc, endpoint = start_store(binary, os.path.join(scratch, "data"))
    skipped = []
    try:
        for name, test in (("boto3", boto3_tests), ("aws cli", aws_cli_tests), ("listing", listing_tests)):
            reason = test(endpoint, scratch)
            if reason:
                print("skipped:", reason)
                skipped.append(reason)
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            failures.append("store did not stop on SIGTERM")
        shutil.rmtree(scratch, ignore_errors=True)
    check(proc.returncode == 0, "store exits 0 on SIGTERM")
    if skipped and os.environ.get("CI") == "true":
        failures.extend(skipped)
    if failures:
        print("%d failure(s)" % len(failures))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
