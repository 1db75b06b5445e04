#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""End-to-end tests of the built `presign` binary: the AWS documented example, every bad input
with its exit code, config/credentials files, credential_process, container and instance-metadata
credentials from loopback servers, verify, explain and batch mode.
Usage: cli_e2e_test.py PATH_TO_presign"""
import http.server
import json
import os
import pty
import select
import shutil
import subprocess
import sys
import tempfile
import threading
import unittest
import urllib.parse

PRESIGN = sys.argv.pop(1) if len(sys.argv) > 1 else "presign"
# What needs HTTP (serve, container and instance-metadata credentials) is the helper next to it.
PRESIGN_NET = os.path.join(os.path.dirname(os.path.abspath(PRESIGN)), "presign-net")

AKID = "AKIAIOSFODNN7EXAMPLE"
SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
TOKEN = "FQoGZXIvYXdzEXAMPLETOKEN/with+chars="
DOC_SIGNATURE = "aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404"
DOC_URL = ("https://examplebucket.s3.amazonaws.com/test.txt?X-Amz-Algorithm=AWS4-HMAC-SHA256"
           "&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20130524%2Fus-east-1%2Fs3%2Faws4_request"
           "&X-Amz-Date=20130524T000000Z&X-Amz-SignedHeaders=host&X-Amz-Expires=86400"
           "&X-Amz-Signature=" + DOC_SIGNATURE)

# Exit codes documented in adapters/cli/README.md.
USAGE, CONFIG, CREDENTIALS, INVALID_INPUT, VERIFY_FAILED, IO = 2, 3, 4, 5, 6, 7


class presign_case(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="presign-cli-e2e-")
        self.env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": self.dir,
            "AWS_CONFIG_FILE": os.path.join(self.dir, "config"),
            "AWS_SHARED_CREDENTIALS_FILE": os.path.join(self.dir, "credentials"),
            "AWS_EC2_METADATA_DISABLED": "true",
        }

    def tearDown(self):
        shutil.rmtree(self.dir, ignore_errors=True)

    def write(self, name, text, mode=0o600):
        path = os.path.join(self.dir, name)
        with open(path, "w") as f:
            f.write(text)
        os.chmod(path, mode)
        return path

    def run_presign(self, *args, env=None, stdin=None, keys=True):
        full_env = dict(self.env)
        if keys:
            full_env.update({"AWS_ACCESS_KEY_ID": AKID, "AWS_SECRET_ACCESS_KEY": SECRET})
        full_env.update(env or {})
        full_env = {k: v for k, v in full_env.items() if v is not None}
        done = subprocess.run([PRESIGN, *args], env=full_env, input=stdin, capture_output=True,
                              text=True, timeout=60)
        return done.returncode, done.stdout, done.stderr

    def ok(self, *args, **kwargs):
        code, out, err = self.run_presign(*args, **kwargs)
        self.assertEqual(code, 0, "presign %s failed: %s" % (" ".join(args), err))
        return out

    def fails(self, expected_code, *args, **kwargs):
        code, out, err = self.run_presign(*args, **kwargs)
        self.assertEqual(code, expected_code, "presign %s: stderr %r" % (" ".join(args), err))
        self.assertEqual(out, "", "stdout must stay empty on error")
        self.assertTrue(err.startswith("presign: "), err)
        self.assertEqual(err.count("\n"), 1, "one line on stderr: %r" % err)
        self.assertNotIn(SECRET, err)
        return err

    def query(self, url):
        return dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(url).query))


class documented_example(presign_case):
    def test_aws_documented_query_auth_example(self):
        out = self.ok("get", "s3://examplebucket/test.txt", "--endpoint", "https://s3.amazonaws.com",
                      "--date", "20130524T000000Z", "--expires", "86400")
        self.assertEqual(out, DOC_URL + "\n")
        out = self.ok("get", "s3://examplebucket/test.txt", "--endpoint", "https://s3.amazonaws.com",
                      "--date", "2013-05-24T00:00:00Z", "--expires", "1d", "--region", "us-east-1")
        self.assertEqual(out, DOC_URL + "\n")

    def test_regional_endpoint_by_default(self):
        out = self.ok("get", "s3://examplebucket/test.txt", "--date", "20130524T000000Z", "--region", "eu-west-1")
        self.assertTrue(out.startswith("https://examplebucket.s3.eu-west-1.amazonaws.com/test.txt?"), out)
        self.assertEqual(self.query(out.strip())["X-Amz-Expires"], "300")

    def test_json_and_curl(self):
        out = self.ok("put", "s3://examplebucket/dir/a b.txt", "--content-type", "text/plain",
                      "--content-length", "12", "--header", "x-amz-meta-owner: me", "--json",
                      "--date", "20130524T000000Z", "--expires", "15m")
        doc = json.loads(out)
        self.assertEqual(doc["method"], "PUT")
        self.assertEqual(doc["headers"], {"Content-Type": "text/plain", "Content-Length": "12",
                                          "x-amz-meta-owner": "me"})
        self.assertEqual(doc["expires_at"], "2013-05-24T00:15:00Z")
        self.assertEqual(doc["expires_in"], 900)
        self.assertIn("/dir/a%20b.txt?", doc["url"])
        self.assertEqual(self.query(doc["url"])["X-Amz-SignedHeaders"],
                         "content-length;content-type;host;x-amz-meta-owner")
        local = self.write("it's here.png", "x" * 6302)
        out = self.ok("put", "s3://examplebucket/up photo.png", "--curl", "--file", local)
        # The local file is what curl uploads; curl sends its Content-Length (signed from the file).
        self.assertTrue(out.startswith("curl --fail -H 'Content-Type: image/png' --upload-file '%s' 'https://"
                                       % local.replace("'", "'\\''")), out)
        self.assertNotIn("Content-Length", out)
        self.assertEqual(self.query(out.split()[-1].strip("'"))["X-Amz-SignedHeaders"],
                         "content-length;content-type;host")
        doc = json.loads(self.ok("put", "s3://examplebucket/k", "--file", local, "--content-type", "text/plain", "--json"))
        self.assertEqual(doc["headers"], {"Content-Type": "text/plain", "Content-Length": "6302"})
        self.assertIn("--file", self.fails(INVALID_INPUT, "put", "s3://examplebucket/k", "--curl"))
        self.assertIn("differs", self.fails(INVALID_INPUT, "put", "s3://examplebucket/k", "--file", local,
                                            "--content-length", "5"))
        self.fails(IO, "put", "s3://examplebucket/k", "--file", os.path.join(self.dir, "missing.png"))
        self.fails(IO, "put", "s3://examplebucket/k", "--file", self.dir)
        out = self.ok("get", "s3://examplebucket/d/report.pdf", "--curl")
        self.assertTrue(out.startswith("curl --fail -o 'report.pdf' 'https://"), out)
        out = self.ok("head", "s3://examplebucket/x", "--curl")
        self.assertTrue(out.startswith("curl --fail --head 'https://"), out)

    def test_download_as_and_sse(self):
        out = self.ok("get", "s3://examplebucket/x.bin", "--download-as", "Résumé.pdf")
        disposition = self.query(out.strip())["response-content-disposition"]
        self.assertEqual(disposition, "attachment; filename=\"R_sum_.pdf\"; filename*=UTF-8''R%C3%A9sum%C3%A9.pdf")
        out = self.ok("put", "s3://examplebucket/x.bin", "--sse", "aws:kms", "--sse-kms-key-id", "key-1",
                      "--checksum-sha256", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
                      "--json")
        headers = json.loads(out)["headers"]
        self.assertEqual(headers["x-amz-server-side-encryption"], "aws:kms")
        self.assertEqual(headers["x-amz-server-side-encryption-aws-kms-key-id"], "key-1")
        self.assertEqual(headers["x-amz-checksum-sha256"], "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=")


class bad_input(presign_case):
    def test_every_bad_input_has_its_exit_code_and_empty_stdout(self):
        self.write("config", "[default]\nregion = eu-west-1\n")
        cases = [
            (INVALID_INPUT, ["get", "s3://examplebucket/k", "--expires", "0"]),
            (INVALID_INPUT, ["get", "s3://examplebucket/k", "--expires", "8d"]),
            (INVALID_INPUT, ["get", "s3://examplebucket/k", "--expires", "604801"]),
            (INVALID_INPUT, ["get", "s3://examplebucket/k", "--expires", "soon"]),
            (INVALID_INPUT, ["get", "s3://examplebucket"]),
            (INVALID_INPUT, ["get", "s3://examplebucket/"]),
            (INVALID_INPUT, ["get", "examplebucket/key"]),
            (INVALID_INPUT, ["get", "s3://Bad_Bucket!/key"]),
            (INVALID_INPUT, ["get", "s3://ab/key"]),
            (INVALID_INPUT, ["get", "s3://my..bucket/key"]),
            (INVALID_INPUT, ["get", "s3://examplebucket/k", "--header", "X-Custom value"]),
            (INVALID_INPUT, ["get", "s3://examplebucket/k", "--date", "yesterday"]),
            (USAGE, ["get", "s3://examplebucket/k", "--content-length", "10"]),
            (USAGE, ["get", "s3://examplebucket/k", "--sse", "AES256"]),
            (USAGE, ["delete", "s3://examplebucket/k", "--content-type", "text/plain"]),
            (USAGE, ["put", "s3://examplebucket/k", "--stdin", "--file", "x"]),
            (USAGE, ["upload", "s3://examplebucket/k"]),
            (INVALID_INPUT, ["put", "s3://examplebucket/k", "--content-length", "-1"]),
            (INVALID_INPUT, ["put", "s3://examplebucket/k", "--sse", "rot13"]),
            (INVALID_INPUT, ["put", "s3://examplebucket/k", "--sse-kms-key-id", "k"]),
            (INVALID_INPUT, ["put", "s3://examplebucket/k", "--checksum-sha256", "abc"]),
            (INVALID_INPUT, ["get", "s3://examplebucket/k", "--region", "Mars 1"]),
            (INVALID_INPUT, ["get", "s3://examplebucket/k", "--endpoint", "ftp://example.com"]),
            (INVALID_INPUT, ["get", "s3://examplebucket/" + "k" * 1025]),
            (USAGE, ["get"]),
            (USAGE, ["get", "s3://examplebucket/k", "--no-such-option"]),
            (USAGE, ["get", "s3://examplebucket/k", "--json", "--curl"]),
            (USAGE, []),
            (INVALID_INPUT, ["fetch", "s3://examplebucket/k"]),  # fetch takes share links
            (CONFIG, ["get", "s3://examplebucket/k", "--profile", "nope"]),
        ]
        for code, args in cases:
            with self.subTest(args=args):
                self.fails(code, *args)

    def test_messages_name_the_problem(self):
        self.assertIn("8d", self.fails(INVALID_INPUT, "get", "s3://b-1/k", "--expires", "8d"))
        self.assertIn("no object key", self.fails(INVALID_INPUT, "get", "s3://b-1"))
        self.assertIn("bucket", self.fails(INVALID_INPUT, "get", "s3://A_B/k"))
        self.assertIn("colon", self.fails(INVALID_INPUT, "get", "s3://b-1/k", "-H", "nocolon"))
        self.assertIn("'nope'", self.fails(CONFIG, "get", "s3://b-1/k", "--profile", "nope"))

    def test_unknown_commands_are_named_with_a_suggestion(self):
        self.assertEqual(self.fails(USAGE, "upload", "s3://b-1/k"),
                         "presign: unknown command 'upload' (did you mean 'put'?) (see presign --help)\n")
        self.assertIn("unknown command 'gte' (did you mean 'get'?)", self.fails(USAGE, "gte", "s3://b-1/k"))
        self.assertNotIn("did you mean", self.fails(USAGE, "xyzzy"))
        self.assertIn("a command is required: get, put, head, delete, verify, explain, serve, encrypt, decrypt or fetch", self.fails(USAGE))
        err = self.fails(USAGE, "get", "s3://b-1/k", "extra")
        self.assertTrue(err.startswith("presign: the following argument was not expected: extra"), err)
        self.assertIn("--no-such-option is not an option of 'get'",
                      self.fails(USAGE, "get", "s3://b-1/k", "--no-such-option"))
        # Another command's option is named as such, with this command's help.
        self.assertEqual(self.fails(USAGE, "get", "s3://b-1/k", "--sse", "AES256"),
                         "presign: --sse is not an option of 'get' (see presign get --help)\n")
        self.assertIn("(see presign get --help)", self.fails(USAGE, "get"))

    def test_each_command_help_lists_only_its_options(self):
        def options(command):
            code, out, err = self.run_presign(command, "--help")
            self.assertEqual(code, 0, err)
            return {word.split(",")[-1] for word in out.split() if word.startswith(("--", "-e,", "-H,", "-v,"))}
        put_only = {"--file", "--content-length", "--checksum-sha256", "--sse", "--sse-kms-key-id"}
        self.assertTrue(put_only <= options("put"), options("put"))
        for command in ("get", "head"):
            self.assertFalse(put_only & options(command), command)
            self.assertTrue({"--content-type", "--download-as", "--expires", "--curl"} <= options(command))
        self.assertFalse((put_only | {"--content-type", "--download-as"}) & options("delete"))

    def test_unknown_profile_from_environment(self):
        self.fails(CONFIG, "get", "s3://examplebucket/k", env={"AWS_PROFILE": "nope"})

    def test_malformed_files(self):
        self.write("config", "[default]\nregion\n")
        err = self.fails(CONFIG, "get", "s3://examplebucket/k")
        self.assertIn("malformed config file", err)
        self.write("config", "[default]\n")
        self.write("credentials", "aws_access_key_id = AKID\n[default]\n")
        err = self.fails(CONFIG, "get", "s3://examplebucket/k")
        self.assertIn("malformed credentials file", err)

    def test_no_credentials_anywhere(self):
        err = self.fails(CREDENTIALS, "get", "s3://examplebucket/k", keys=False)
        self.assertIn("no AWS credentials", err)

    def test_partial_environment_credentials(self):
        self.fails(CREDENTIALS, "get", "s3://examplebucket/k", keys=False, env={"AWS_ACCESS_KEY_ID": AKID})


class config_files(presign_case):
    def test_profiles_and_precedence(self):
        self.write("credentials", "[default]\naws_access_key_id = AKIDDEFAULTFILE\naws_secret_access_key = s1\n"
                                  "[work]\naws_access_key_id = AKIDWORK\naws_secret_access_key = s2\n")
        self.write("config", "[default]\nregion = eu-west-1\n"
                             "[profile work]\nregion = ap-southeast-2\ns3 =\n  addressing_style = path\n"
                             "[profile local]\naws_access_key_id = AKIDLOCAL\naws_secret_access_key = s3\n"
                             "endpoint_url = http://127.0.0.1:9000\n")
        # The environment's keys win over the files; the profile's region still applies.
        url = self.ok("get", "s3://examplebucket/k").strip()
        self.assertTrue(self.query(url)["X-Amz-Credential"].startswith(AKID + "/"))
        self.assertIn(".s3.eu-west-1.amazonaws.com/", url)
        # Without environment keys the credentials file's default profile is used.
        url = self.ok("get", "s3://examplebucket/k", keys=False).strip()
        self.assertTrue(self.query(url)["X-Amz-Credential"].startswith("AKIDDEFAULTFILE/20"))
        # --profile skips the environment's keys (as the AWS CLI does).
        url = self.ok("get", "s3://examplebucket/k", "--profile", "work").strip()
        self.assertTrue(url.startswith("https://s3.ap-southeast-2.amazonaws.com/examplebucket/k?"), url)
        self.assertTrue(self.query(url)["X-Amz-Credential"].startswith("AKIDWORK/"))
        # AWS_PROFILE selects the profile but keeps environment keys first.
        url = self.ok("get", "s3://examplebucket/k", env={"AWS_PROFILE": "work"}).strip()
        self.assertTrue(self.query(url)["X-Amz-Credential"].startswith(AKID + "/"))
        self.assertTrue(url.startswith("https://s3.ap-southeast-2.amazonaws.com/"), url)
        # Region precedence: --region > AWS_REGION > AWS_DEFAULT_REGION > profile.
        url = self.ok("get", "s3://examplebucket/k", env={"AWS_DEFAULT_REGION": "us-west-1"})
        self.assertIn(".s3.us-west-1.amazonaws.com/", url)
        url = self.ok("get", "s3://examplebucket/k", env={"AWS_DEFAULT_REGION": "us-west-1", "AWS_REGION": "us-west-2"})
        self.assertIn(".s3.us-west-2.amazonaws.com/", url)
        url = self.ok("get", "s3://examplebucket/k", "--region", "ca-central-1", env={"AWS_REGION": "us-west-2"})
        self.assertIn(".s3.ca-central-1.amazonaws.com/", url)
        # endpoint_url of a profile, and the environment's over it.
        url = self.ok("get", "s3://examplebucket/k", "--profile", "local")
        self.assertTrue(url.startswith("http://127.0.0.1:9000/examplebucket/k?"), url)
        url = self.ok("get", "s3://examplebucket/k", "--profile", "local",
                      env={"AWS_ENDPOINT_URL_S3": "http://127.0.0.1:9999"})
        self.assertTrue(url.startswith("http://127.0.0.1:9999/examplebucket/k?"), url)

    def test_verbose_never_prints_secrets(self):
        code, out, err = self.run_presign("get", "s3://examplebucket/k", "--verbose",
                                          env={"AWS_SESSION_TOKEN": TOKEN})
        self.assertEqual(code, 0, err)
        self.assertIn("****************MPLE", err)
        self.assertIn("session token present", err)
        for secret in (SECRET, TOKEN, urllib.parse.quote(TOKEN, safe=""), AKID):
            self.assertNotIn(secret, err)
        signature = self.query(out.strip())["X-Amz-Signature"]
        self.assertNotIn(signature, err)
        self.assertNotIn(SECRET, out)

    def test_credentials_expiring_before_the_link(self):
        env = {"AWS_SESSION_TOKEN": TOKEN, "AWS_CREDENTIAL_EXPIRATION": "2013-05-24T00:10:00Z"}
        err = self.fails(CREDENTIALS, "get", "s3://examplebucket/k", "--date", "20130524T000000Z",
                         "--expires", "1h", env=env)
        self.assertIn("--clamp-expiry", err)
        code, out, err = self.run_presign("get", "s3://examplebucket/k", "--date", "20130524T000000Z",
                                          "--expires", "1h", "--clamp-expiry", "--json", env=env)
        self.assertEqual(code, 0, err)
        doc = json.loads(out)
        self.assertEqual(doc["expires_at"], "2013-05-24T00:10:00Z")
        self.assertEqual(doc["expires_in"], 600)
        self.assertIn("2013-05-24T00:10:00Z", err)
        self.assertEqual(self.query(doc["url"])["X-Amz-Security-Token"], TOKEN)


class credential_process(presign_case):
    def script(self, body):
        return self.write("creds.sh", "#!/bin/sh\n" + body + "\n", 0o700)

    def test_process_credentials(self):
        path = self.script("echo '{\"Version\": 1, \"AccessKeyId\": \"AKIDPROC\", \"SecretAccessKey\": \"ps\", "
                           "\"SessionToken\": \"proc-token\", \"Expiration\": \"2099-01-01T00:00:00Z\"}'")
        self.write("config", "[profile proc]\ncredential_process = %s\n" % path)
        url = self.ok("get", "s3://examplebucket/k", "--profile", "proc").strip()
        self.assertTrue(self.query(url)["X-Amz-Credential"].startswith("AKIDPROC/"))
        self.assertEqual(self.query(url)["X-Amz-Security-Token"], "proc-token")

    def test_process_expiration_before_link(self):
        path = self.script("echo '{\"Version\": 1, \"AccessKeyId\": \"AKIDPROC\", \"SecretAccessKey\": \"ps\", "
                           "\"SessionToken\": \"t\", \"Expiration\": \"2013-05-24T00:01:00Z\"}'")
        self.write("config", "[profile proc]\ncredential_process = %s\n" % path)
        self.fails(CREDENTIALS, "get", "s3://examplebucket/k", "--profile", "proc", "--date", "20130524T000000Z")
        out = self.ok("get", "s3://examplebucket/k", "--profile", "proc", "--date", "20130524T000000Z",
                      "--clamp-expiry")
        self.assertEqual(self.query(out.strip())["X-Amz-Expires"], "60")

    def test_failing_process(self):
        path = self.script("echo 'the secret is hunter2' >&2; exit 2")
        self.write("config", "[profile proc]\ncredential_process = %s\n" % path)
        err = self.fails(CREDENTIALS, "get", "s3://examplebucket/k", "--profile", "proc")
        self.assertNotIn("hunter2", err)


class fake_metadata_server:
    """Serves container credentials (/creds, checks Authorization) and IMDSv2 on 127.0.0.1."""

    def __init__(self, token):
        expected_token = token
        seen = self.seen = []

        class handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def reply(self, status, body, content_type="application/json"):
                data = body.encode()
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_PUT(self):
                seen.append(("PUT", self.path, dict(self.headers)))
                if self.path.startswith("/refuse/"):
                    self.reply(403, "")
                elif self.path == "/latest/api/token" and self.headers.get("X-aws-ec2-metadata-token-ttl-seconds"):
                    self.reply(200, "imds-session", "text/plain")
                else:
                    self.reply(400, "")

            def do_GET(self):
                seen.append(("GET", self.path, dict(self.headers)))
                creds = json.dumps({"AccessKeyId": "AKIDSERVED", "SecretAccessKey": "served-secret",
                                    "Token": "served-token", "Expiration": "2099-01-01T00:00:00Z",
                                    "Code": "Success"})
                if self.path.startswith("/refuse/"):
                    self.reply(403, "")
                elif self.path == "/creds":
                    if self.headers.get("Authorization") != expected_token:
                        self.reply(401, "{}")
                    else:
                        self.reply(200, creds)
                elif self.path.startswith("/latest/meta-data/iam/security-credentials/"):
                    if self.headers.get("X-aws-ec2-metadata-token") != "imds-session":
                        self.reply(401, "")
                    elif self.path.endswith("/"):
                        self.reply(200, "my-role", "text/plain")
                    elif self.path.endswith("/my-role"):
                        self.reply(200, creds)
                    else:
                        self.reply(404, "")
                else:
                    self.reply(404, "")

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


class network_credentials(presign_case):
    def setUp(self):
        super().setUp()
        self.server = fake_metadata_server("Bearer test-token")
        self.base = "http://127.0.0.1:%d" % self.server.port

    def tearDown(self):
        self.server.close()
        super().tearDown()

    def test_container_credentials_with_token(self):
        env = {"AWS_CONTAINER_CREDENTIALS_FULL_URI": self.base + "/creds",
               "AWS_CONTAINER_AUTHORIZATION_TOKEN": "Bearer test-token"}
        url = self.ok("get", "s3://examplebucket/k", keys=False, env=env).strip()
        self.assertTrue(self.query(url)["X-Amz-Credential"].startswith("AKIDSERVED/"))
        self.assertEqual(self.query(url)["X-Amz-Security-Token"], "served-token")

    def test_container_token_file(self):
        token_file = self.write("token", "Bearer test-token\n")
        env = {"AWS_CONTAINER_CREDENTIALS_FULL_URI": self.base + "/creds",
               "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE": token_file,
               "AWS_CONTAINER_AUTHORIZATION_TOKEN": "wrong"}
        url = self.ok("get", "s3://examplebucket/k", keys=False, env=env).strip()
        self.assertTrue(self.query(url)["X-Amz-Credential"].startswith("AKIDSERVED/"))

    def test_container_refusals(self):
        env = {"AWS_CONTAINER_CREDENTIALS_FULL_URI": self.base + "/creds",
               "AWS_CONTAINER_AUTHORIZATION_TOKEN": "Bearer wrong"}
        self.fails(CREDENTIALS, "get", "s3://examplebucket/k", keys=False, env=env)
        env = {"AWS_CONTAINER_CREDENTIALS_FULL_URI": "http://192.0.2.1:1/creds"}
        err = self.fails(CREDENTIALS, "get", "s3://examplebucket/k", keys=False, env=env)
        self.assertIn("not a loopback", err)
        # A closed port on loopback: a quick, clear failure.
        env = {"AWS_CONTAINER_CREDENTIALS_FULL_URI": "http://127.0.0.1:1/creds"}
        self.fails(CREDENTIALS, "get", "s3://examplebucket/k", keys=False, env=env)

    def test_container_credentials_source_in_verbose(self):
        env = {"AWS_CONTAINER_CREDENTIALS_FULL_URI": self.base + "/creds",
               "AWS_CONTAINER_AUTHORIZATION_TOKEN": "Bearer test-token"}
        code, out, err = self.run_presign("get", "s3://examplebucket/k", "--verbose", keys=False, env=env)
        self.assertEqual(code, 0, err)
        self.assertIn("credentials from container credentials, access key ****************RVED", err)
        self.assertIn("expire 2099-01-01T00:00:00Z", err)
        for secret in ("served-secret", "served-token", "test-token"):
            self.assertNotIn(secret, err)

    def test_container_error_classes_pass_through_the_helper(self):
        env = {"AWS_CONTAINER_CREDENTIALS_FULL_URI": "http://127.0.0.1:notaport/creds"}
        err = self.fails(CONFIG, "get", "s3://examplebucket/k", keys=False, env=env)
        self.assertIn("malformed container credentials URI", err)

    def test_instance_metadata_v2(self):
        env = {"AWS_EC2_METADATA_DISABLED": None, "AWS_EC2_METADATA_SERVICE_ENDPOINT": self.base}
        url = self.ok("get", "s3://examplebucket/k", keys=False, env=env).strip()
        self.assertTrue(self.query(url)["X-Amz-Credential"].startswith("AKIDSERVED/"))
        methods = [(m, p) for m, p, _ in self.server.seen]
        self.assertEqual(methods[0], ("PUT", "/latest/api/token"))
        self.assertIn(("GET", "/latest/meta-data/iam/security-credentials/my-role"), methods)


    def test_instance_metadata_that_refuses_everything_means_no_credentials(self):
        env = {"AWS_EC2_METADATA_DISABLED": None, "AWS_EC2_METADATA_SERVICE_ENDPOINT": self.base + "/refuse"}
        err = self.fails(CREDENTIALS, "get", "s3://examplebucket/k", keys=False, env=env)
        self.assertIn("no AWS credentials found", err)
        methods = [(m, p) for m, p, _ in self.server.seen]
        self.assertEqual(methods, [("PUT", "/refuse/latest/api/token"),
                                   ("GET", "/refuse/latest/meta-data/iam/security-credentials/")])


class http_helper(presign_case):
    """`presign` signs without loading an HTTP stack; `presign serve` and the network credential
    providers run the helper presign-net."""

    def test_one_shot_loads_no_http_stack(self):
        code, out, err = self.run_presign("get", "s3://examplebucket/k", env={"LD_DEBUG": "libs"})
        self.assertEqual(code, 0, err)
        self.assertTrue(out.startswith("https://examplebucket.s3.") and "/k?X-Amz-" in out, out)
        self.assertIn("libc.so.6", err, "LD_DEBUG=libs lists the loaded libraries")
        for library in ("libcpp-httplib", "libssl", "libbrotli", "libz.so"):
            self.assertFalse(library in err, "presign get loaded %s" % library)

    def test_serve_runs_the_helper(self):
        code, out, err = self.run_presign("serve", "--help")
        self.assertEqual(code, 0, err)
        self.assertIn("--s3-port", out)
        self.assertIn("serve [OPTIONS]", out)
        err = self.fails(USAGE, "serve", "--port", "x")
        self.assertIn("--port", err)

    def test_without_the_helper(self):
        alone = os.path.join(self.dir, "bin")
        os.mkdir(alone)
        shutil.copy2(PRESIGN, os.path.join(alone, "presign"))
        lone = os.path.join(alone, "presign")
        done = subprocess.run([lone, "get", "s3://examplebucket/k"], capture_output=True, text=True,
                              env={**self.env, "AWS_ACCESS_KEY_ID": AKID, "AWS_SECRET_ACCESS_KEY": SECRET},
                              timeout=60)
        self.assertEqual(done.returncode, 0, done.stderr)
        done = subprocess.run([lone, "serve"], capture_output=True, text=True, env=self.env, timeout=60)
        self.assertEqual(done.returncode, 1)
        self.assertEqual(done.stdout, "")
        self.assertIn("cannot run presign-net", done.stderr)
        done = subprocess.run([lone, "get", "s3://examplebucket/k"], capture_output=True, text=True,
                              env={**self.env, "AWS_CONTAINER_CREDENTIALS_FULL_URI": "http://127.0.0.1:1/c"},
                              timeout=60)
        self.assertEqual(done.returncode, CREDENTIALS)
        self.assertEqual(done.stdout, "")
        self.assertIn("presign-net", done.stderr)

    def test_helper_never_writes_credentials_to_a_terminal(self):
        leader, follower = pty.openpty()
        try:
            done = subprocess.run([PRESIGN_NET, "credentials"], stdout=follower, stderr=subprocess.PIPE,
                                  env={**self.env, "AWS_CONTAINER_CREDENTIALS_FULL_URI": "http://127.0.0.1:1/c"},
                                  timeout=60)
        finally:
            os.close(follower)
        os.set_blocking(leader, False)
        try:
            written = os.read(leader, 4096)
        except (BlockingIOError, OSError):
            written = b""
        os.close(leader)
        self.assertEqual(done.returncode, USAGE)
        self.assertEqual(written, b"")
        self.assertIn(b"pipe only", done.stderr)


class curl_against_serve(presign_case):
    """`presign put --file F --curl` prints a command that, run as printed by a shell, uploads F to
    `presign serve`'s store; then `presign get --curl` downloads it back."""

    def test_printed_curl_commands_upload_and_download(self):
        if not shutil.which("curl"):
            self.fail("curl is not installed (cmake/dev.sh installs it)")
        data = os.path.join(self.dir, "serve data")
        serve = subprocess.Popen([PRESIGN, "serve", "--port", "0", "--s3-port", "0", "--data-dir", data],
                                 stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=self.env)
        try:
            s3 = None
            for line in serve.stdout:
                if line.startswith("listening "):
                    s3 = dict(part.split("=", 1) for part in line.split()[1:])["s3"]
                    break
            self.assertIsNotNone(s3, "presign serve did not start")
            env = {"AWS_SHARED_CREDENTIALS_FILE": os.path.join(data, "credentials"),
                   "AWS_CONFIG_FILE": os.path.join(data, "aws-config"), "AWS_PROFILE": "presign-local"}
            # Two files of other sizes than any hard-coded length; the larger makes curl send
            # Expect: 100-continue.
            for name, size in (("up photo.png", 6302), ("big one.bin", 1536 * 1024 + 7)):
                local = os.path.join(self.dir, "local " + name)
                body = os.urandom(size)
                with open(local, "wb") as out:
                    out.write(body)
                command = self.ok("put", "s3://presign/" + name, "--file", local, "--curl", keys=False, env=env)
                done = subprocess.run(command, shell=True, capture_output=True, timeout=60)
                self.assertEqual(done.returncode, 0, "%s\n%r" % (command, done.stderr[-500:]))
                command = self.ok("get", "s3://presign/" + name, "--curl", keys=False, env=env)
                done = subprocess.run(command, shell=True, capture_output=True, timeout=60, cwd=self.dir)
                self.assertEqual(done.returncode, 0, "%s\n%r" % (command, done.stderr[-500:]))
                with open(os.path.join(self.dir, name), "rb") as got:
                    self.assertEqual(got.read(), body, name)
            head = self.ok("head", "s3://presign/up photo.png", "--curl", keys=False, env=env)
            done = subprocess.run(head, shell=True, capture_output=True, text=True, timeout=60)
            self.assertIn("content-type: image/png", done.stdout.lower(), "the type came from the file's name")
        finally:
            serve.terminate()
            serve.wait(timeout=30)
            serve.stdout.close()


class verify_and_explain(presign_case):
    def test_verify_accepts_a_fresh_url_and_reports_facts(self):
        url = self.ok("get", "s3://examplebucket/a b.txt", "--date", "20130524T000000Z", "--expires", "1h").strip()
        out = self.ok("verify", url, "--date", "20130524T000500Z")
        self.assertIn("valid: presigned GET /a b.txt", out)
        self.assertIn("expires at: 2013-05-24T01:00:00Z (in 3300 s)", out)
        doc = json.loads(self.ok("verify", url, "--date", "20130524T000500Z", "--json"))
        self.assertEqual(doc["access_key_id"], AKID)
        self.assertEqual(doc["signed_headers"], ["host"])
        self.assertEqual(doc["expires_in"], 3300)

    def test_verify_documented_example(self):
        out = self.ok("verify", DOC_URL, "--date", "20130524T120000Z")
        self.assertIn("valid: presigned GET /test.txt", out)

    def test_verify_refusals(self):
        url = self.ok("put", "s3://examplebucket/k", "--content-type", "text/plain",
                      "--date", "20130524T000000Z").strip()
        tampered = url[:-1] + ("0" if url[-1] != "0" else "1")
        err = self.fails(VERIFY_FAILED, "verify", tampered, "-X", "PUT", "-H", "Content-Type: text/plain",
                         "--date", "20130524T000100Z")
        self.assertIn("SignatureDoesNotMatch", err)
        err = self.fails(VERIFY_FAILED, "verify", url, "-X", "GET", "-H", "Content-Type: text/plain",
                         "--date", "20130524T000100Z")
        self.assertIn("SignatureDoesNotMatch", err)
        err = self.fails(VERIFY_FAILED, "verify", url, "-X", "PUT", "-H", "Content-Type: text/plain",
                         "--date", "20130525T000000Z")
        self.assertIn("AccessDenied", err)
        self.ok("verify", url, "-X", "PUT", "-H", "Content-Type: text/plain", "--date", "20130524T000100Z")
        err = self.fails(VERIFY_FAILED, "verify", url, "-X", "PUT", "-H", "Content-Type: text/plain",
                         "--date", "20130524T000100Z", env={"AWS_ACCESS_KEY_ID": "AKIDOTHER"})
        self.assertIn("InvalidAccessKeyId", err)
        self.fails(INVALID_INPUT, "verify", "not a url")

    def test_explain_and_s3_error_diff(self):
        out = self.ok("explain", DOC_URL, keys=False)
        canonical = ("GET\n/test.txt\nX-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE"
                     "%2F20130524%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Date=20130524T000000Z&X-Amz-Expires=86400"
                     "&X-Amz-SignedHeaders=host\nhost:examplebucket.s3.amazonaws.com\n\nhost\nUNSIGNED-PAYLOAD")
        string_to_sign = ("AWS4-HMAC-SHA256\n20130524T000000Z\n20130524/us-east-1/s3/aws4_request\n"
                          "3bfa292879f6447bbcda7001decf97f4a54dc650c8942174ae0a9121cf58ad04")
        self.assertEqual(out, "Canonical request:\n%s\n\nString to sign:\n%s\n" % (canonical, string_to_sign))

        def error_xml(canonical_request, sts):
            esc = lambda s: s.replace("&", "&amp;").replace("<", "&lt;")
            return ("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>SignatureDoesNotMatch</Code>"
                    "<Message>The request signature we calculated does not match</Message>"
                    "<StringToSign>%s</StringToSign><CanonicalRequest>%s</CanonicalRequest></Error>"
                    % (esc(sts), esc(canonical_request)))
        same = self.write("same.xml", error_xml(canonical, string_to_sign))
        out = self.ok("explain", DOC_URL, "--s3-error", same, keys=False)
        self.assertIn("Canonical request: identical to S3's", out)
        self.assertIn("String to sign: identical to S3's", out)
        self.assertIn("signatures differ only through the signing key: the secret access key that signed the URL "
                      "is not the one S3 holds for access key id AKIAIOSFODNN7EXAMPLE", out)
        self.assertIn("20130524/us-east-1", out)
        other = self.write("other.xml", error_xml(canonical.replace("/test.txt", "/test%2Etxt"), string_to_sign))
        code, out, err = self.run_presign("explain", DOC_URL, "--s3-error", other, keys=False)
        self.assertEqual(code, VERIFY_FAILED, err)
        self.assertIn("- /test.txt\n+ /test%2Etxt\n", out)
        self.fails(IO, "explain", DOC_URL, "--s3-error", os.path.join(self.dir, "missing.xml"), keys=False)
        self.fails(INVALID_INPUT, "explain", "https://example.com/k?a=b", keys=False)

    def test_explain_suggests_the_method_and_headers_of_a_put_url(self):
        url = self.ok("put", "s3://examplebucket/k.txt", "--content-type", "text/plain", "--content-length", "5",
                      "--date", "20130524T000000Z").strip()
        err = self.fails(INVALID_INPUT, "explain", url, keys=False)
        self.assertIn("-X PUT -H 'content-length: VALUE' -H 'content-type: VALUE'", err)
        out = self.ok("explain", url, "-X", "PUT", "-H", "Content-Type: text/plain", "-H", "Content-Length: 5",
                      keys=False)
        self.assertTrue(out.startswith("Canonical request:\nPUT\n/k.txt\n"), out)
        # With S3's error, the values are S3's: the exact flags to retry with.
        s3_canonical = out.split("Canonical request:\n")[1].split("\n\nString to sign:")[0]
        xml = self.write("put.xml", "<Error><Code>SignatureDoesNotMatch</Code><CanonicalRequest>%s</CanonicalRequest>"
                                    "</Error>" % s3_canonical)
        err = self.fails(INVALID_INPUT, "explain", url, "--s3-error", xml, keys=False)
        self.assertIn("-X PUT -H 'content-length: 5' -H 'content-type: text/plain'", err)
        code, out, err = self.run_presign("explain", url, "-H", "Content-Type: text/html", "-H", "Content-Length: 5",
                                          "--s3-error", xml, keys=False)
        self.assertEqual(code, VERIFY_FAILED, err)
        self.assertIn("- GET\n+ PUT\n", out)
        self.assertIn("explain with: -X PUT", err)

    def test_sigv2_urls_are_named_with_the_way_to_sigv4(self):
        # The shape `aws s3 presign` and boto3 give in us-east-1 without signature_version = s3v4.
        url = ("https://examplebucket.s3.amazonaws.com/test.txt?AWSAccessKeyId=" + AKID
               + "&Signature=k9tC%2BN6m2Ew%3D&Expires=1893456000")
        for command, code, keys in (("verify", VERIFY_FAILED, True), ("explain", INVALID_INPUT, False)):
            err = self.fails(code, command, url, keys=keys)
            self.assertIn("legacy Signature Version 2 URL", err)
            self.assertIn("signature_version = s3v4", err)

    def test_explain_redacts_the_session_token(self):
        url = self.ok("get", "s3://examplebucket/k", env={"AWS_SESSION_TOKEN": TOKEN}).strip()
        out = self.ok("explain", url, keys=False)
        self.assertIn("X-Amz-Security-Token=<session-token>", out)
        self.assertNotIn(urllib.parse.quote(TOKEN, safe=""), out)


class batch(presign_case):
    def test_stdin_streams_one_url_per_line(self):
        keys = "a.txt\r\ndir/b c.txt\n\nü.bin"
        out = self.ok("get", "--stdin", "s3://examplebucket/pre/", "--date", "20130524T000000Z", stdin=keys)
        lines = out.splitlines()
        self.assertEqual(len(lines), 3)
        self.assertIn("/pre/a.txt?", lines[0])
        self.assertIn("/pre/dir/b%20c.txt?", lines[1])
        self.assertIn("/pre/%C3%BC.bin?", lines[2])
        for line in lines:
            single = self.ok("get", "s3://examplebucket/pre/" + urllib.parse.unquote(
                urllib.parse.urlsplit(line).path[len("/pre/"):]), "--date", "20130524T000000Z").strip()
            self.assertEqual(line, single)
        out = self.ok("put", "--stdin", "s3://examplebucket", "--json", stdin="x\ny\n")
        self.assertEqual([json.loads(l)["method"] for l in out.splitlines()], ["PUT", "PUT"])

    def test_stdin_answers_each_line_before_input_ends(self):
        env = dict(self.env, AWS_ACCESS_KEY_ID=AKID, AWS_SECRET_ACCESS_KEY=SECRET)
        process = subprocess.Popen([PRESIGN, "get", "--stdin", "s3://examplebucket/"], env=env,
                                   stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        try:
            for key in ("first", "second"):
                process.stdin.write((key + "\n").encode())
                process.stdin.flush()
                ready, _, _ = select.select([process.stdout], [], [], 10)
                self.assertTrue(ready, "no URL for %r while stdin is still open" % key)
                self.assertIn("/%s?" % key, process.stdout.readline().decode())
        finally:
            process.stdin.close()
            process.wait(timeout=10)
            process.stdout.close()
            process.stderr.close()
        self.assertEqual(process.returncode, 0)

    def test_stdin_bad_key_stops_with_invalid_input(self):
        code, out, err = self.run_presign("get", "--stdin", "s3://examplebucket/", stdin="ok\n" + "k" * 1100 + "\n")
        self.assertEqual(code, INVALID_INPUT, err)
        self.assertIn("line 2", err)
        self.assertEqual(len(out.splitlines()), 1)


if __name__ == "__main__":
    unittest.main(verbosity=2)
