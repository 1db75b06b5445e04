# SPDX-License-Identifier: Apache-2.0
"""A multipart upload through presign's API, as the page does it: the API signs each step, the
client sends it to the store. Used by the serve tests and the benchmark."""
import concurrent.futures
import http.client
import json
import os
import re
import urllib.parse
import urllib.request
import urllib.error


def http_call(method, url, body=None, headers=None, timeout=300):
    """(status, body bytes, lowercase headers) of one request; body may be bytes or None."""
    parts = urllib.parse.urlsplit(url)
    # A file body is sent in blocks of `blocksize`: http.client's default of 8 KiB makes the
    # client (a send() and a Python loop per 8 KiB) the bound of a large upload.
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=timeout, blocksize=1 << 20)
    target = parts.path + ("?" + parts.query if parts.query else "")
    try:
        try:
            connection.request(method, target, body=body, headers=headers or {})
        except (BrokenPipeError, ConnectionResetError):
            pass  # the server answered (a refusal) before reading the whole body: read its answer
        response = connection.getresponse()
        return response.status, response.read(), {k.lower(): v for k, v in response.getheaders()}
    finally:
        connection.close()


def api(api_url, method, path, payload=None, headers=None):
    body = None if payload is None else json.dumps(payload).encode()
    all_headers = dict(headers or {})
    if body is not None:
        all_headers["Content-Type"] = "application/json"
    status, data, _ = http_call(method, api_url + path, body, all_headers)
    return status, (json.loads(data) if data else None)


def xml_values(text, name):
    return re.findall("<%s>(.*?)</%s>" % (name, name), text.decode() if isinstance(text, bytes) else text)


def signed_headers(signed):
    # Content-Length is the body's own length (http.client sets it); the rest goes as signed.
    return {k: v for k, v in signed.get("headers", {}).items() if k.lower() != "content-length"}


class Upload:
    """One file's multipart upload: start(), send_parts(), complete()."""

    def __init__(self, api_url, path, filename=None, content_type="application/octet-stream"):
        self.api_url, self.path = api_url, path
        self.filename = filename or os.path.basename(path)
        self.content_type = content_type
        self.size = os.path.getsize(path)
        self.plan = self.upload_id = None
        self.etags = {}

    def start(self, multipart=True):
        status, plan = api(self.api_url, "POST", "/uploads",
                           {"filename": self.filename, "contentType": self.content_type, "size": self.size,
                            "multipart": multipart})
        if status != 200:
            raise RuntimeError("POST /uploads: %d %r" % (status, plan))
        self.plan = plan
        status, body, _ = http_call(plan["method"], plan["url"], b"", signed_headers(plan))
        if status != 200:
            raise RuntimeError("CreateMultipartUpload: %d %r" % (status, body[:300]))
        self.upload_id = xml_values(body, "UploadId")[0]
        return plan

    def resume(self, plan, upload_id):
        """Continues an upload started elsewhere: the parts the store holds are not sent again."""
        self.plan, self.upload_id = plan, upload_id
        self.etags = dict(self.stored_parts())

    def stored_parts(self):
        marker, found = 0, []
        while True:
            status, listed = api(self.api_url, "GET", "/uploads/parts?" + urllib.parse.urlencode(
                {"plan": self.plan["plan"], "uploadId": self.upload_id, "partNumberMarker": marker}))
            if status != 200:
                raise RuntimeError("GET /uploads/parts: %d %r" % (status, listed))
            status, body, _ = http_call("GET", listed["url"])
            if status != 200:
                raise RuntimeError("ListParts: %d %r" % (status, body[:300]))
            found += list(zip(map(int, xml_values(body, "PartNumber")), xml_values(body, "ETag")))
            if xml_values(body, "IsTruncated") != ["true"]:
                return [(n, e.replace("&quot;", '"')) for n, e in found]
            marker = int(xml_values(body, "NextPartNumberMarker")[0])

    def sign_parts(self, numbers):
        status, answer = api(self.api_url, "POST", "/uploads/parts",
                             {"plan": self.plan["plan"], "uploadId": self.upload_id, "partNumbers": numbers})
        if status != 200:
            raise RuntimeError("POST /uploads/parts: %d %r" % (status, answer))
        return answer["parts"]

    def send_part(self, signed):
        offset = (signed["partNumber"] - 1) * self.plan["partSize"]
        with open(self.path, "rb") as f:
            f.seek(offset)
            data = f.read(signed["size"])
        status, body, headers = http_call("PUT", signed["url"], data, signed_headers(signed))
        if status != 200:
            raise RuntimeError("UploadPart %d: %d %r" % (signed["partNumber"], status, body[:300]))
        self.etags[signed["partNumber"]] = headers["etag"]
        return signed["partNumber"]

    def send_parts(self, in_flight=4, numbers=None, batch=20):
        """Sends the given (default: every missing) part, `in_flight` at a time, signing in batches."""
        wanted = [n for n in (numbers or range(1, self.plan["partCount"] + 1)) if n not in self.etags]
        with concurrent.futures.ThreadPoolExecutor(in_flight) as pool:
            for start in range(0, len(wanted), batch):
                signed = self.sign_parts(wanted[start:start + batch])
                list(pool.map(self.send_part, signed))

    def complete(self):
        status, signed = api(self.api_url, "POST", "/uploads/complete",
                             {"plan": self.plan["plan"], "uploadId": self.upload_id})
        if status != 200:
            raise RuntimeError("POST /uploads/complete: %d %r" % (status, signed))
        xml = "<CompleteMultipartUpload>" + "".join(
            "<Part><PartNumber>%d</PartNumber><ETag>%s</ETag></Part>" % (n, self.etags[n])
            for n in sorted(self.etags)) + "</CompleteMultipartUpload>"
        # With the signed headers (If-None-Match: *: a Complete never overwrites an existing object).
        status, body, _ = http_call("POST", signed["url"], xml.encode(),
                                    dict(signed_headers(signed), **{"Content-Type": "application/xml"}))
        # S3 may answer 200 and still report an error in the body.
        if status != 200 or b"<Error>" in body:
            raise RuntimeError("CompleteMultipartUpload: %d %r" % (status, body[:300]))
        return xml_values(body, "ETag")[0].replace("&quot;", '"')

    def abort(self):
        status, signed = api(self.api_url, "POST", "/uploads/abort",
                             {"plan": self.plan["plan"], "uploadId": self.upload_id})
        if status != 200:
            raise RuntimeError("POST /uploads/abort: %d %r" % (status, signed))
        return http_call("DELETE", signed["url"])[0]
