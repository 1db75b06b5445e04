#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""End-to-end tests of `presign encrypt`, `presign decrypt` and `presign fetch` (adapters/crypto/FORMAT.md):
round trips at record edges with the exact size, the stored name, tampering and wrong keys refused
with exit 9 and no file left, keys from links and stdin, and fetch against a loopback share API and
store (encrypted and plain links; the #key never reaches a server).
Usage: cli_encryption_test.py PATH_TO_presign"""
import base64
import http.server
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import unittest

PRESIGN = sys.argv.pop(1) if len(sys.argv) > 1 else "presign"
INVALID_INPUT, IO, DECRYPT_FAILED = 5, 7, 9
RS = 65536
FULL = RS - 17
# RFC 8188 section 3.1: one record, rs 4096, no keyid.
RFC_3_1_KEY = "yqdlZ-tYemfogSmv7Ws5PQ"
RFC_3_1_BODY = "I1BsxtFttlv3u_Oo94xnmwAAEAAA-NAVub2qFgBEuQKRapoZu-IxkIva3MEB1PD-ly8Thjg"


def b64url_decode(text):
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def encrypted_size(n, idlen):
    return 21 + idlen + n + 17 * max(1, -(-n // FULL))


class encryption_case(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="presign-e2e-")

    def tearDown(self):
        shutil.rmtree(self.dir, ignore_errors=True)

    def path(self, name):
        return os.path.join(self.dir, name)

    def run_presign(self, *args, stdin=None):
        done = subprocess.run([PRESIGN, *args], cwd=self.dir, input=stdin, capture_output=True, timeout=120)
        return done.returncode, done.stdout.decode(), done.stderr.decode()

    def ok(self, *args, **kwargs):
        code, out, err = self.run_presign(*args, **kwargs)
        self.assertEqual(code, 0, "presign %s failed: %s" % (" ".join(args), err))
        return out

    def fails(self, expected, *args, **kwargs):
        before = set(os.listdir(self.dir))
        code, out, err = self.run_presign(*args, **kwargs)
        self.assertEqual(code, expected, "presign %s: %r" % (" ".join(args), err))
        self.assertEqual(out, "")
        self.assertTrue(err.startswith("presign"), err)
        self.assertEqual(set(os.listdir(self.dir)), before, "a failed run must leave no file behind")
        return err

    def write(self, name, data):
        with open(self.path(name), "wb") as f:
            f.write(data)
        return self.path(name)

    def read(self, name):
        with open(self.path(name), "rb") as f:
            return f.read()

    def encrypt(self, name, data, *extra):
        self.write(name, data)
        key = self.ok("encrypt", name, "-o", name + ".enc", *extra).strip()
        self.assertRegex(key, r"^[A-Za-z0-9_-]{22}$")
        return key, self.read(name + ".enc")


class encrypt_decrypt_test(encryption_case):
    def test_round_trips_at_record_edges_with_the_exact_size(self):
        for size in (0, 1, FULL - 1, FULL, FULL + 1, 3 << 20):
            with self.subTest(size=size):
                data = os.urandom(size)
                key, body = self.encrypt("in.bin", data)
                idlen = body[20]
                self.assertEqual(len(body), encrypted_size(size, idlen))
                self.assertEqual(int.from_bytes(body[16:20], "big"), RS)
                if size >= 32:
                    self.assertNotIn(data[:32], body)
                self.ok("decrypt", "in.bin.enc", "--key", key, "-o", "out.bin")
                self.assertEqual(self.read("out.bin"), data)

    def test_the_stored_name_names_the_output_and_is_not_in_the_file(self):
        key, body = self.encrypt("quarterly report.pdf", b"%PDF-1.7 secret numbers")
        self.assertNotIn(b"quarterly", body)
        self.assertNotIn(b"application/pdf", body)
        os.remove(self.path("quarterly report.pdf"))
        out = self.ok("decrypt", "quarterly report.pdf.enc", "--key", key)
        self.assertEqual(out.strip(), "./quarterly report.pdf")
        self.assertEqual(self.read("quarterly report.pdf"), b"%PDF-1.7 secret numbers")
        # A derived name never replaces an existing file.
        err = self.fails(IO, "decrypt", "quarterly report.pdf.enc", "--key", key)
        self.assertIn("exists", err)
        # --name stores another name; path parts are dropped on the way in.
        key, _ = self.encrypt("x.bin", b"abc", "--name", "../../evil/../name.txt")
        self.assertEqual(self.ok("decrypt", "x.bin.enc", "--key", key).strip(), "./name.txt")

    def test_keys_from_a_share_link_and_from_stdin(self):
        key, _ = self.encrypt("a.txt", b"hello")
        self.ok("decrypt", "a.txt.enc", "--key", "https://api.example/s/TOKEN#" + key, "-o", "one")
        self.ok("decrypt", "a.txt.enc", "--key", "-", "-o", "two", stdin=(key + "\n").encode())
        self.assertEqual(self.read("one"), b"hello")
        self.assertEqual(self.read("two"), b"hello")
        for bad in ("short", key + "A", key[:-1] + "=", key.replace(key[0], "+", 1)):
            with self.subTest(key=bad):
                self.fails(INVALID_INPUT, "decrypt", "a.txt.enc", "--key", bad, "-o", "x")

    def test_rfc_8188_example_decrypts(self):
        self.write("rfc.bin", b64url_decode(RFC_3_1_BODY))
        self.ok("decrypt", "rfc.bin", "--key", RFC_3_1_KEY, "-o", "walrus.txt")
        self.assertEqual(self.read("walrus.txt"), b"I am the walrus")

    def test_tampering_and_wrong_keys_are_refused_and_nothing_is_saved(self):
        data = os.urandom(2 * FULL + 100)
        key, body = self.encrypt("t.bin", data)
        header = 21 + body[20]
        other_key = self.ok("encrypt", "t.bin", "-o", "other.enc").strip()
        os.remove(self.path("other.enc"))
        cases = {
            "salt byte": (lambda b: b[:3] + bytes([b[3] ^ 1]) + b[4:], "metadata_invalid"),
            "rs byte": (lambda b: b[:19] + bytes([b[19] ^ 1]) + b[20:], "record_tampered"),
            "idlen": (lambda b: b[:20] + bytes([b[20] ^ 1]) + b[21:], None),
            "keyid byte": (lambda b: b[:25] + bytes([b[25] ^ 1]) + b[26:], "metadata_invalid"),
            "first record byte": (lambda b: b[:header + 5] + bytes([b[header + 5] ^ 1]) + b[header + 6:],
                                  "record_tampered"),
            "last byte": (lambda b: b[:-1] + bytes([b[-1] ^ 1]), "record_tampered"),
            "cut at a record boundary": (lambda b: b[:header + RS], "truncated"),
            "cut inside a record": (lambda b: b[:-5], "record_tampered"),
            "cut inside the header": (lambda b: b[:10], "header_truncated"),
            "extended": (lambda b: b + b"\0", "record_tampered"),
        }
        for what, (change, code) in cases.items():
            with self.subTest(what):
                self.write("bad.enc", change(body))
                err = self.fails(DECRYPT_FAILED, "decrypt", "bad.enc", "--key", key, "-o", "out.bin")
                if code:
                    self.assertIn(code, err)
                self.assertIn("nothing was saved", err)
                os.remove(self.path("bad.enc"))
        # A wrong key already fails on the stored name, before any record.
        err = self.fails(DECRYPT_FAILED, "decrypt", "t.bin.enc", "--key", other_key, "-o", "out.bin")
        self.assertIn("metadata_invalid", err)
        self.assertNotIn(key, err)


class share_api(http.server.BaseHTTPRequestHandler):
    """/s/<name>: the share API's JSON; /o/<name>: the object; /deny: an S3 error."""
    objects = {}
    flags = {}  # name -> the link's "encrypted" flag (absent: the answer has none, as before issue 19)
    seen = []

    def log_message(self, *args):
        pass

    def do_GET(self):
        share_api.seen.append((self.path, dict(self.headers)))
        base = "http://127.0.0.1:%d" % self.server.server_address[1]
        if self.path.startswith("/s/"):
            name = self.path[3:]
            if name == "expired":
                return self.answer(410, b'{"error":{"code":"link_expired","message":"the link expired"}}',
                                   "application/json")
            url = base + ("/deny" if name == "deny" else "/o/" + name)
            answer = {"url": url, "filename": "object-" + name + ".bin", "expiresAt": "2030-01-01T00:00:00Z"}
            if name in share_api.flags:
                answer["encrypted"] = share_api.flags[name]
            body = json.dumps(answer)
            return self.answer(200, body.encode(), "application/json")
        if self.path.startswith("/o/") and self.path[3:] in share_api.objects:
            return self.answer(200, share_api.objects[self.path[3:]], "application/octet-stream")
        if self.path == "/deny":
            return self.answer(403, b"<Error><Code>AccessDenied</Code><Message>Request has expired</Message></Error>",
                               "application/xml")
        self.answer(404, b"", "text/plain")

    def answer(self, status, body, content_type):
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


class fetch_test(encryption_case):
    @classmethod
    def setUpClass(cls):
        cls.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), share_api)
        cls.thread = threading.Thread(target=cls.server.serve_forever, daemon=True)
        cls.thread.start()
        cls.base = "http://127.0.0.1:%d" % cls.server.server_address[1]

    @classmethod
    def tearDownClass(cls):
        cls.server.shutdown()
        cls.server.server_close()

    def test_an_encrypted_link_downloads_and_decrypts_under_its_stored_name(self):
        data = os.urandom(FULL * 3 + 7)
        key, body = self.encrypt("holiday.jpg", data)
        os.remove(self.path("holiday.jpg"))
        share_api.objects["e1"] = body
        share_api.seen.clear()
        out = self.ok("fetch", self.base + "/s/e1#" + key)
        self.assertEqual(out.strip(), "./holiday.jpg")
        self.assertEqual(self.read("holiday.jpg"), data)
        self.assertEqual(share_api.seen[0][1].get("Accept"), "application/json")
        for path, headers in share_api.seen:
            self.assertNotIn(key, path + json.dumps(headers), "the key must never reach a server")
        self.ok("fetch", self.base + "/s/e1#" + key, "-o", "copy.jpg")
        self.assertEqual(self.read("copy.jpg"), data)

    def test_a_plain_link_downloads_as_is(self):
        share_api.objects["p1"] = b"plain bytes"
        self.assertEqual(self.ok("fetch", self.base + "/s/p1").strip(), "./object-p1.bin")
        self.assertEqual(self.read("object-p1.bin"), b"plain bytes")

    def test_refusals_leave_nothing_behind(self):
        key, body = self.encrypt("f.txt", b"secret text")
        share_api.objects["t1"] = body[:-1] + bytes([body[-1] ^ 1])
        share_api.objects["c1"] = body[:30]
        share_api.objects["ok"] = body
        err = self.fails(DECRYPT_FAILED, "fetch", self.base + "/s/t1#" + key, "-o", "out")
        self.assertIn("record_tampered", err)
        self.fails(DECRYPT_FAILED, "fetch", self.base + "/s/c1#" + key, "-o", "out")
        wrong = self.ok("encrypt", "f.txt", "-o", "w.enc").strip()
        os.remove(self.path("w.enc"))
        self.fails(DECRYPT_FAILED, "fetch", self.base + "/s/ok#" + wrong, "-o", "out")
        self.fails(INVALID_INPUT, "fetch", self.base + "/s/ok#notakey", "-o", "out")
        err = self.fails(INVALID_INPUT, "fetch", self.base + "/s/expired#" + key)
        self.assertIn("410 link_expired: the link expired", err)
        err = self.fails(INVALID_INPUT, "fetch", self.base + "/s/deny#" + key)
        self.assertIn("403 AccessDenied: Request has expired", err)
        self.fails(IO, "fetch", "http://127.0.0.1:1/s/x#" + key)

    def test_the_links_encrypted_flag_decides(self):
        data = os.urandom(FULL + 1)
        key, body = self.encrypt("flagged.bin", data)
        os.remove(self.path("flagged.bin"))
        share_api.objects["flagged"] = body
        share_api.flags["flagged"] = True
        # Flagged encrypted, no key: refused in words, the ciphertext is not saved as the file.
        err = self.fails(INVALID_INPUT, "fetch", self.base + "/s/flagged", "-o", "out")
        self.assertIn("encrypted end to end and its key is missing", err)
        self.assertIn("nothing was saved", err)
        self.assertEqual(self.ok("fetch", self.base + "/s/flagged#" + key).strip(), "./flagged.bin")
        self.assertEqual(self.read("flagged.bin"), data)
        # Flagged plain, with a stray fragment: downloaded as it is (as the page does) ...
        share_api.objects["plainflag"] = b"plain, not encrypted"
        share_api.flags["plainflag"] = False
        out = self.ok("fetch", self.base + "/s/plainflag#" + key).strip()
        self.assertEqual(out, "./object-plainflag.bin")
        self.assertEqual(self.read("object-plainflag.bin"), b"plain, not encrypted")
        # ... unless the key is given explicitly with -k, which always decrypts.
        err = self.fails(DECRYPT_FAILED, "fetch", self.base + "/s/plainflag", "-k", key, "-o", "out")
        self.assertIn("nothing was saved", err)
        self.assertFalse(os.path.exists(self.path("out")))


if __name__ == "__main__":
    unittest.main(verbosity=2)
