#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""`presign serve --oidc-issuer/--oidc-audience` over HTTP: a minimal OpenID provider (discovery and a
JWKS the test rotates) on 127.0.0.1, tokens signed here (RS256, ES256) and hostile ones (alg none,
HS256 keyed with the public key, wrong iss/aud, expired, not yet valid, unknown kid, tampered
payload). Each refusal is a 401 with a JSON error and WWW-Authenticate; no token reaches the log.
Usage: serve_oidc_test.py path/to/presign"""
import base64
import hashlib
import hmac
import http.server
import json
import sys
import tempfile
import threading
import time
import urllib.parse

from serve_support import Serve, check, finish, request

try:
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
    from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
except ImportError:
    print("serve_oidc_test: python3 'cryptography' missing (apt-get install python3-cryptography)")
    sys.exit(1)  # a missing prerequisite fails, never passes

AUDIENCE = "page-client"


def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def int_bytes(number, length=None):
    length = length or (number.bit_length() + 7) // 8
    return number.to_bytes(length, "big")


class Key:
    def __init__(self, kid, alg):
        self.kid, self.alg = kid, alg
        if alg == "RS256":
            self.private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
            numbers = self.private.public_key().public_numbers()
            self.jwk = {"kty": "RSA", "kid": kid, "use": "sig", "alg": alg,
                        "n": b64url(int_bytes(numbers.n)), "e": b64url(int_bytes(numbers.e))}
        else:
            self.private = ec.generate_private_key(ec.SECP256R1())
            numbers = self.private.public_key().public_numbers()
            self.jwk = {"kty": "EC", "kid": kid, "use": "sig", "crv": "P-256",
                        "x": b64url(int_bytes(numbers.x, 32)), "y": b64url(int_bytes(numbers.y, 32))}

    def public_pem(self):
        return self.private.public_key().public_bytes(serialization.Encoding.PEM,
                                                      serialization.PublicFormat.SubjectPublicKeyInfo)

    def sign(self, claims, header=None):
        head = {"alg": self.alg, "kid": self.kid, "typ": "JWT", **(header or {})}
        signing_input = (b64url(json.dumps(head).encode()) + "." + b64url(json.dumps(claims).encode())).encode()
        if self.alg == "RS256":
            signature = self.private.sign(signing_input, padding.PKCS1v15(), hashes.SHA256())
        else:
            r, s = decode_dss_signature(self.private.sign(signing_input, ec.ECDSA(hashes.SHA256())))
            signature = int_bytes(r, 32) + int_bytes(s, 32)
        return signing_input.decode() + "." + b64url(signature)


class Provider:
    """Discovery and JWKS on 127.0.0.1; `keys` may be replaced (a rotation)."""

    def __init__(self):
        provider = self
        self.keys = []
        self.jwks_fetches = 0

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                if self.path == "/.well-known/openid-configuration":
                    body = {"issuer": provider.issuer, "jwks_uri": provider.issuer + "/jwks",
                            "authorization_endpoint": provider.issuer + "/auth"}
                elif self.path == "/jwks":
                    provider.jwks_fetches += 1
                    body = {"keys": [key.jwk for key in provider.keys]}
                else:
                    self.send_error(404)
                    return
                data = json.dumps(body).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.issuer = "http://127.0.0.1:%d" % self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


def claims(provider, sub, **changes):
    now = int(time.time())
    out = {"iss": provider.issuer, "aud": AUDIENCE, "sub": sub, "iat": now, "exp": now + 600}
    out.update(changes)
    return {name: value for name, value in out.items() if value is not None}


def post_upload(serve, token, filename="a.txt"):
    headers = {"Content-Type": "application/json"}
    if token is not None:
        headers["Authorization"] = "Bearer " + token
    body = json.dumps({"filename": filename, "contentType": "text/plain", "size": 5}).encode()
    status, data, response_headers = request("POST", serve.api + "/uploads", body, headers)
    try:
        parsed = json.loads(data)
    except ValueError:
        parsed = None
    return status, parsed, response_headers


def main():
    binary = sys.argv[1]
    provider = Provider()
    rsa_key, ec_key = Key("rsa-1", "RS256"), Key("ec-1", "ES256")
    provider.keys = [rsa_key, ec_key]
    tokens_sent = []

    with tempfile.TemporaryDirectory() as data_dir:
        # Without a reachable provider serve refuses to start (a clear error, exit 3).
        import subprocess
        down = subprocess.run([binary, "serve", "--port", "0", "--s3-port", "0", "--data-dir", data_dir,
                               "--oidc-issuer", "http://127.0.0.1:9", "--oidc-audience", AUDIENCE],
                              capture_output=True, text=True, timeout=60)
        check(down.returncode == 3 and "--oidc-issuer" in down.stderr, "an unreachable issuer stops serve (exit 3)")
        half = subprocess.run([binary, "serve", "--oidc-issuer", provider.issuer], capture_output=True, text=True,
                              timeout=60)
        check(half.returncode == 5, "--oidc-issuer without --oidc-audience is refused")
        lone_logout = subprocess.run([binary, "serve", "--oidc-logout-endpoint", "https://d.example/logout"],
                                     capture_output=True, text=True, timeout=60)
        check(lone_logout.returncode == 5 and "--oidc-issuer" in lone_logout.stderr,
              "--oidc-logout-endpoint without --oidc-issuer is refused")
        not_url = subprocess.run([binary, "serve", "--oidc-issuer", provider.issuer, "--oidc-audience", AUDIENCE,
                                  "--oidc-logout-endpoint", "javascript:alert(1)"], capture_output=True, text=True,
                                 timeout=60)
        check(not_url.returncode != 0 and "http" in not_url.stderr, "--oidc-logout-endpoint must be an http(s) URL")

        serve = Serve(binary, data_dir, "--oidc-issuer", provider.issuer, "--oidc-audience", AUDIENCE)
        try:
            status, data, _ = request("GET", serve.api + "/config.json")
            check(status == 200 and json.loads(data) == {"issuer": provider.issuer, "clientId": AUDIENCE},
                  "GET /config.json names the issuer and the page's client id")
            check(any("users of " + provider.issuer in line for line in serve.lines),
                  "serve says who may sign in")

            status, answer, _ = post_upload(serve, None)
            check(status == 401 and answer["error"]["code"] == "unauthorized", "no token: 401 unauthorized")

            token_a = rsa_key.sign(claims(provider, "alice"))
            token_b = ec_key.sign(claims(provider, "bob"))
            tokens_sent += [token_a, token_b]
            status, ticket_a, _ = post_upload(serve, token_a)
            check(status == 200 and "/users/alice/" in "/" + ticket_a["key"], "RS256 token: alice uploads into her prefix")
            status, ticket_b, _ = post_upload(serve, token_b)
            check(status == 200 and "/users/bob/" in "/" + ticket_b["key"], "ES256 token: bob uploads into his prefix")
            if ticket_a and "key" in ticket_a:
                status, _, _ = request("PUT", ticket_a["url"], b"hello", dict(ticket_a["headers"]))
                check(status == 200, "alice's pre-signed PUT is accepted by the store")
                query = "/downloads?key=" + urllib.parse.quote(ticket_a["key"], safe="")
                status, _, _ = request("GET", serve.api + query, headers={"Authorization": "Bearer " + token_b})
                check(status in (403, 404), "bob cannot have alice's file signed (%d)" % status)
                status, _, _ = request("GET", serve.api + query, headers={"Authorization": "Bearer " + token_a})
                check(status == 200, "alice can")

            now = int(time.time())
            public_pem = rsa_key.public_pem()
            hs_head = b64url(json.dumps({"alg": "HS256", "kid": "rsa-1", "typ": "JWT"}).encode())
            hs_body = b64url(json.dumps(claims(provider, "mallory")).encode())
            hs_mac = hmac.new(public_pem, (hs_head + "." + hs_body).encode(), hashlib.sha256).digest()
            none_token = (b64url(json.dumps({"alg": "none", "kid": "rsa-1"}).encode()) + "." +
                          b64url(json.dumps(claims(provider, "mallory")).encode()) + ".")
            good = rsa_key.sign(claims(provider, "alice"))
            head, payload, signature = good.split(".")
            forged_payload = b64url(json.dumps(claims(provider, "bob")).encode())
            stranger = Key("nobody", "RS256")
            hostile = {
                "alg none": (none_token, "unsupported_algorithm"),
                "HS256 keyed with the public key": (hs_head + "." + hs_body + "." + b64url(hs_mac),
                                                    "unsupported_algorithm"),
                "wrong iss": (rsa_key.sign(claims(provider, "alice", iss="http://127.0.0.1:1")), "wrong_issuer"),
                "wrong aud": (rsa_key.sign(claims(provider, "alice", aud="someone-else")), "wrong_audience"),
                "expired": (rsa_key.sign(claims(provider, "alice", exp=now - 61)), "expired"),
                "not yet valid": (rsa_key.sign(claims(provider, "alice", nbf=now + 120)), "not_yet_valid"),
                "unknown kid": (stranger.sign(claims(provider, "alice")), "unknown_key"),
                "tampered payload": (head + "." + forged_payload + "." + signature, "bad_signature"),
            }
            for name, (token, reason) in hostile.items():
                tokens_sent.append(token)
                status, answer, headers = post_upload(serve, token)
                check(status == 401 and answer is not None and answer["error"]["code"] == "invalid_token" and
                      answer["error"]["message"].startswith(reason + ":") and
                      headers.get("www-authenticate", "").startswith("Bearer error=\"invalid_token\""),
                      "%s: 401 invalid_token (%s)" % (name, reason))
            check(rsa_key.sign(claims(provider, "alice", exp=now - 30)) and
                  post_upload(serve, rsa_key.sign(claims(provider, "alice", exp=now - 30)))[0] == 200,
                  "expired 30 s ago: within the 60 s skew, accepted")

            # Rotation: the provider replaces its keys; a token under the new kid is accepted after
            # one refetch (unknown kids refetch at most every 5 s), the withdrawn key no longer is.
            rotated = Key("rsa-2", "RS256")
            provider.keys = [rotated]
            time.sleep(5.5)
            fetches = provider.jwks_fetches
            status, _, _ = post_upload(serve, rotated.sign(claims(provider, "alice")))
            check(status == 200 and provider.jwks_fetches == fetches + 1, "JWKS rotation: the new kid is fetched once, accepted")
            time.sleep(5.5)
            status, answer, _ = post_upload(serve, rsa_key.sign(claims(provider, "alice")))
            check(status == 401 and answer["error"]["message"].startswith("unknown_key"), "the withdrawn key is refused")

            status, _, headers = request("OPTIONS", serve.api + "/uploads", headers={
                "Origin": serve.api, "Access-Control-Request-Method": "POST",
                "Access-Control-Request-Headers": "authorization,content-type"})
            check(status in (200, 204) and "authorization" in headers.get("access-control-allow-headers", "").lower(),
                  "CORS preflight needs no token and allows Authorization")
        finally:
            serve.stop()
        log = "\n".join(serve.lines)
        check(all(token.split(".")[1] not in log and token.split(".")[2][:20] not in log
                  for token in tokens_sent if token.split(".")[2]), "no token (payload or signature) in serve's output")
    return finish()


if __name__ == "__main__":
    sys.exit(main())
