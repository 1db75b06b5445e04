# SPDX-License-Identifier: Apache-2.0
"""Starting `presign serve` on free ports of 127.0.0.1 and talking to it, for the serve tests."""
import http.client
import json
import os
import shlex
import signal
import subprocess
import threading
import time
import urllib.error
import urllib.parse
import urllib.request

failures = []


def check(condition, what):
    print(("ok: " if condition else "FAIL: ") + what, flush=True)
    if not condition:
        failures.append(what)
    return condition


class Serve:
    """A running `presign serve --port 0 --s3-port 0`; its stdout is collected in a thread."""

    def __init__(self, binary, data_dir, *extra, env=None):
        self.proc = subprocess.Popen([binary, "serve", "--port", "0", "--s3-port", "0", "--data-dir", data_dir,
                                      *extra], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                     env=env)
        self.lines = []
        self.api = self.s3 = None
        deadline = time.time() + 30
        while time.time() < deadline:
            line = self.proc.stdout.readline()
            if not line:
                break
            self.lines.append(line.rstrip("\n"))
            if line.startswith("listening "):
                fields = dict(part.split("=", 1) for part in line.split()[1:])
                self.api, self.s3 = fields["api"], fields["s3"]
                break
        if self.api is None:
            self.proc.kill()
            raise SystemExit("presign serve did not start:\n%s\n%s" % ("\n".join(self.lines), self.proc.stderr.read()))
        self.reader = threading.Thread(target=self._drain, daemon=True)
        self.reader.start()

    def _drain(self):
        for line in self.proc.stdout:
            self.lines.append(line.rstrip("\n"))

    def stop(self, sig=signal.SIGTERM):
        self.proc.send_signal(sig)
        try:
            code = self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            code = None
        self.reader.join(timeout=5)
        return code

    def peak_rss_kib(self):
        with open("/proc/%d/status" % self.proc.pid) as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
        return None


def request(method, url, body=None, headers=None, timeout=60):
    """(status, body bytes, headers dict with lowercase names)."""
    req = urllib.request.Request(url, data=body, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as response:
            return response.status, response.read(), {k.lower(): v for k, v in response.headers.items()}
    except urllib.error.HTTPError as error:
        return error.code, error.read(), {k.lower(): v for k, v in error.headers.items()}


def profile_env(serve):
    """The environment the printed `export` line sets, on top of a clean one."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    for line in serve.lines:
        if line.strip().startswith("export "):
            for assignment in shlex.split(line.strip()[len("export "):]):
                name, value = assignment.split("=", 1)
                env[name] = value
    env["AWS_EC2_METADATA_DISABLED"] = "true"
    return env


def api_json(serve, method, path, payload=None):
    body = None if payload is None else json.dumps(payload).encode()
    status, data, headers = request(method, serve.api + path, body,
                                    {"Content-Type": "application/json"} if body else {})
    try:
        parsed = json.loads(data) if data else None
    except ValueError:
        parsed = None
    return status, parsed, headers


def upload(serve, filename, content, content_type="application/octet-stream"):
    """POST /uploads then PUT with exactly the returned headers. Returns (ticket, put status, body)."""
    status, ticket, _ = api_json(serve, "POST", "/uploads",
                                 {"filename": filename, "contentType": content_type, "size": len(content)})
    if status != 200:
        return ticket, status, b""
    put_status, put_body, _ = request(ticket["method"], ticket["url"], content, dict(ticket["headers"]))
    return ticket, put_status, put_body


def share_link(serve, key):
    status, answer, _ = api_json(serve, "GET", "/downloads?key=" + urllib.parse.quote(key, safe=""))
    return answer["url"] if status == 200 else None


def s3_code(body):
    text = body.decode(errors="replace")
    start, end = text.find("<Code>"), text.find("</Code>")
    return text[start + 6:end] if start >= 0 and end > start else None


def stream_put(url, headers, path, size, chunk=1 << 20):
    """PUTs a file without reading it into memory; returns (status, body)."""
    parts = urllib.parse.urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=300)
    target = parts.path + ("?" + parts.query if parts.query else "")
    connection.putrequest("PUT", target, skip_accept_encoding=True)
    for name, value in headers.items():
        if name.lower() != "content-length":
            connection.putheader(name, value)
    connection.putheader("Content-Length", str(size))
    connection.endheaders()
    with open(path, "rb") as f:
        while True:
            data = f.read(chunk)
            if not data:
                break
            connection.send(data)
    response = connection.getresponse()
    body = response.read()
    connection.close()
    return response.status, body


def finish():
    if failures:
        print("%d failure(s)" % len(failures))
        return 1
    return 0
