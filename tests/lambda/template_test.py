#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Renders adapters/lambda/template.yaml for its sign-in modes and checks the result: the Rules refuse
what they must (an external issuer without an audience, ...), the Conditions keep exactly the
resources each mode needs (user pool, page client, hosted-UI domain, authorizer), every private route
carries the JWT authorizer, the page routes are public, and the Outputs name what the page needs.
Decoded with cfn-lint's own loader (short-form intrinsics); skipped (77) without cfn-lint.
Usage: template_test.py path/to/template.yaml"""
import sys

try:
    from cfnlint.decode import decode
except ImportError:
    print("skipped: python3 cfn-lint not installed")
    sys.exit(77)

failures = []


def check(condition, what):
    print(("ok: " if condition else "FAIL: ") + what, flush=True)
    if not condition:
        failures.append(what)


class Renderer:
    """Evaluates the template's condition functions for one set of parameter values."""

    def __init__(self, template, parameters):
        self.template = template
        self.values = {name: str(spec.get("Default", "")) for name, spec in template["Parameters"].items()}
        self.values.update(parameters)
        self.cache = {}

    def value(self, node):
        if isinstance(node, dict) and len(node) == 1:
            (name, args), = node.items()
            if name == "Ref":
                return self.values[args] if args in self.values else {"Ref": args}  # a resource
            if name == "Fn::Equals":
                return self.value(args[0]) == self.value(args[1])
            if name == "Fn::Not":
                return not self.value(args[0])
            if name == "Fn::And":
                return all(self.value(arg) for arg in args)
            if name == "Fn::Or":
                return any(self.value(arg) for arg in args)
            if name == "Condition":
                return self.condition(args)
            if name == "Fn::Join":
                separator, items = args
                items = self.value(items)
                if isinstance(items, str):
                    items = items.split(",") if items else []
                return separator.join(str(self.value(item)) for item in items)
            if name == "Fn::If":
                return self.value(args[1] if self.condition(args[0]) else args[2])
            return {name: args}
        if isinstance(node, list):
            return [self.value(item) for item in node]
        return node

    def condition(self, name):
        if name not in self.cache:
            self.cache[name] = bool(self.value(self.template["Conditions"][name]))
        return self.cache[name]

    def refused_by(self):
        """The rules whose assertions fail for these parameters."""
        refused = []
        for name, rule in self.template.get("Rules", {}).items():
            if "RuleCondition" in rule and not self.value(rule["RuleCondition"]):
                continue
            if not all(self.value(assertion["Assert"]) for assertion in rule["Assertions"]):
                refused.append(name)
        return refused

    def resources(self):
        return {name: resource for name, resource in self.template["Resources"].items()
                if "Condition" not in resource or self.condition(resource["Condition"])}

    def outputs(self):
        return {name: output for name, output in self.template["Outputs"].items()
                if "Condition" not in output or self.condition(output["Condition"])}


def routes(resources):
    return {resource["Properties"]["RouteKey"]: resource["Properties"] for resource in resources.values()
            if resource["Type"] == "AWS::ApiGatewayV2::Route"}


PUBLIC_ROUTES = {"GET /", "GET /{file}"}
# A share link's recipient has no account: routes under /s/ are public by design (their token is
# the capability): GET opens the link, POST sends its password.
SHARE_ROUTE_PREFIXES = ("GET /s/", "POST /s/")
PRIVATE_ROUTES = {"POST /uploads", "GET /downloads", "GET /files", "DELETE /files", "POST /shares",
                  "POST /uploads/parts", "GET /uploads/parts", "POST /uploads/complete", "POST /uploads/abort"}


def check_authorized_routes(renderer, mode):
    all_routes = routes(renderer.resources())
    check(PRIVATE_ROUTES | PUBLIC_ROUTES <= set(all_routes), mode + ": every route is there")
    for key, route in all_routes.items():
        if key in PUBLIC_ROUTES or key.startswith(SHARE_ROUTE_PREFIXES):
            check(route.get("AuthorizationType") == "NONE", mode + ": " + key + " (the page) is public")
            continue
        check(renderer.value(route.get("AuthorizationType")) == "JWT" and
              renderer.value(route.get("AuthorizerId")) == {"Ref": "JwtAuthorizer"},
              mode + ": " + key + " carries the JWT authorizer")


def check_multipart(renderer, resources, cors_rules):
    """Issue 15: what pre-signed multipart uploads need from the stack, and no more."""
    statements = [st for policy in resources["Function"]["Properties"]["Policies"] for st in policy["Statement"]]
    objects = [st for st in statements if st.get("Sid") == "PresignObjectsUnderThePrefix"]
    check(len(objects) == 1 and set(objects[0]["Action"]) == {
        "s3:PutObject", "s3:GetObject", "s3:DeleteObject", "s3:AbortMultipartUpload", "s3:ListMultipartUploadParts"},
          "the role may sign object requests, AbortMultipartUpload and ListParts (PutObject covers create, part, "
          "complete), nothing else")
    check(objects and renderer.value(objects[0]["Resource"]) ==
          {"Fn::Sub": "arn:${AWS::Partition}:s3:::${Bucket}/${KeyPrefix}*"}, "... only under the key prefix")
    page_rules = [rule for rule in cors_rules if rule.get("AllowedOrigins") != ["*"]]
    check(len(page_rules) == 1 and "POST" in page_rules[0]["AllowedMethods"] and
          "ETag" in page_rules[0].get("ExposedHeaders", []),
          "the page's CORS rule allows POST (create, complete) and exposes ETag (each part's)")
    buckets = [r for r in resources.values() if r.get("Type") == "AWS::S3::Bucket"]
    lifecycle = [rule for b in buckets for rule in b["Properties"].get("LifecycleConfiguration", {}).get("Rules", [])]
    check(any(rule.get("AbortIncompleteMultipartUpload", {}).get("DaysAfterInitiation") == 1 for rule in lifecycle),
          "incomplete multipart uploads are aborted after a day")
    parameters = renderer.template["Parameters"]
    check(parameters["MaxUploadBytes"]["MaxValue"] == 5 * 2 ** 40, "MaxUploadBytes may go up to 5 TiB")
    check(parameters["MultipartThreshold"]["MaxValue"] == 5 * 2 ** 30, "MultipartThreshold is at most 5 GiB")
    environment = resources["Function"]["Properties"]["Environment"]["Variables"]
    check(environment.get("MULTIPART_THRESHOLD") == {"Ref": "MultipartThreshold"} and
          environment.get("MAX_UPLOAD_BYTES") == {"Ref": "MaxUploadBytes"} and "LINK_SECRET" in environment,
          "the function gets MULTIPART_THRESHOLD, MAX_UPLOAD_BYTES and the LINK_SECRET plan tokens are sealed with")


def main():
    template, matches = decode(sys.argv[1])
    check(template is not None and not matches, "the template decodes")

    # ---- CreateUserPool=true (the default) ---------------------------------------------------
    pool = Renderer(template, {})
    check(pool.values["CreateUserPool"] == "true", "CreateUserPool defaults to true")
    check(pool.values["AllowedOrigin"] == "http://127.0.0.1:8080", "AllowedOrigin defaults to what serve prints")
    check(pool.refused_by() == [], "defaults pass the rules")
    resources = pool.resources()
    for name in ("UserPool", "UserPoolDomain", "PageClient", "JwtAuthorizer"):
        check(name in resources, "user pool mode: " + name + " is created")
    user_pool = resources["UserPool"]["Properties"]
    check(user_pool["UsernameAttributes"] == ["email"], "users sign in with their email")
    check(pool.value(user_pool["AdminCreateUserConfig"]["AllowAdminCreateUserOnly"]) is True,
          "self sign-up is off by default")
    check(Renderer(template, {"AllowSelfSignUp": "true"}).value(
        user_pool["AdminCreateUserConfig"]["AllowAdminCreateUserOnly"]) is False, "AllowSelfSignUp=true turns it on")
    policy = user_pool["Policies"]["PasswordPolicy"]
    check(policy["MinimumLength"] >= 12 and all(policy[k] for k in
                                                 ("RequireLowercase", "RequireUppercase", "RequireNumbers", "RequireSymbols")),
          "strong password policy")
    check(pool.value(user_pool["MfaConfiguration"]) == "OPTIONAL" and
          pool.value(user_pool["EnabledMfas"]) == ["SOFTWARE_TOKEN_MFA"], "optional TOTP MFA by default")
    client = resources["PageClient"]["Properties"]
    check(client["GenerateSecret"] is False and client["AllowedOAuthFlows"] == ["code"] and
          "openid" in client["AllowedOAuthScopes"] and client["AllowedOAuthFlowsUserPoolClient"] is True,
          "the page's client is public, authorization code only")
    callbacks = pool.value(client["CallbackURLs"])
    check(any("execute-api" in str(url) for url in callbacks) and
          pool.value(client["LogoutURLs"]) == callbacks, "callback and logout URLs = the page's origin (the API)")
    authorizer = resources["JwtAuthorizer"]["Properties"]
    check(pool.value(authorizer["JwtConfiguration"]["Issuer"]) == {"Fn::Sub": "https://${UserPool.ProviderURL}"} and
          pool.value(authorizer["JwtConfiguration"]["Audience"]) == [{"Ref": "PageClient"}],
          "the authorizer trusts the pool's issuer and the page's client")
    check(authorizer["IdentitySource"] == ["$request.header.Authorization"], "the token comes in Authorization")
    check_authorized_routes(pool, "user pool mode")
    # The recipient page (API origin) reads an encrypted file's sealed name with a Range GET and
    # decrypts the body: the bucket's CORS must let it send Range and read the answer.
    buckets = [r for r in resources.values() if r.get("Type") == "AWS::S3::Bucket"]
    rules = [rule for b in buckets for rule in b["Properties"].get("CorsConfiguration", {}).get("CorsRules", [])]
    readers = [rule for rule in rules if rule.get("AllowedOrigins") == ["*"]]
    check(len(readers) == 1 and set(readers[0]["AllowedMethods"]) == {"GET", "HEAD"},
          "one CORS rule lets any origin read a signed GET/HEAD (the recipient page), and only read")
    check(readers and "Range" in readers[0].get("AllowedHeaders", []) and
          {"Content-Length", "Content-Range", "Content-Type"} <= set(readers[0].get("ExposedHeaders", [])),
          "the recipient page may send Range and read Content-Range/Content-Length (encrypted shares)")
    check_multipart(pool, resources, rules)
    environment = resources["Function"]["Properties"]["Environment"]["Variables"]
    check(pool.value(environment["ALLOW_ANONYMOUS"]) == "false", "user pool mode: never anonymous")
    check(pool.value(environment["OIDC_CLIENT_ID"]) == {"Ref": "PageClient"}, "GET /config.json names the client")
    check(pool.value(environment["OIDC_LOGOUT_ENDPOINT"]) ==
          {"Fn::Sub": "https://${UserPoolDomain}.auth.${AWS::Region}.amazoncognito.com/logout"},
          "GET /config.json names Cognito's hosted UI logout endpoint, so sign-out ends that session too")
    outputs = pool.outputs()
    for name in ("PageUrl", "ApiUrl", "OidcIssuer", "OidcClientId", "UserPoolId", "HostedUiUrl"):
        check(name in outputs, "user pool mode outputs " + name)
    check(Renderer(template, {"AllowAnonymous": "true"}).refused_by() == ["AnonymousOnlyWithoutAuthorizer"],
          "AllowAnonymous=true with the user pool is refused")
    check(Renderer(template, {"JwtIssuer": "https://idp.example"}).refused_by() != [],
          "an external issuer beside the user pool is refused")

    # ---- CreateUserPool=false with an external provider ---------------------------------------
    external = Renderer(template, {"CreateUserPool": "false", "JwtIssuer": "https://idp.example/",
                                   "JwtAudience": "page-client"})
    check(external.refused_by() == [], "external provider: the rules pass")
    resources = external.resources()
    for name in ("UserPool", "UserPoolDomain", "PageClient"):
        check(name not in resources, "external provider: no " + name)
    check("JwtAuthorizer" in resources, "external provider: the authorizer exists")
    jwt = resources["JwtAuthorizer"]["Properties"]["JwtConfiguration"]
    check(external.value(jwt["Issuer"]) == "https://idp.example/" and external.value(jwt["Audience"]) == ["page-client"],
          "external provider: the authorizer trusts JwtIssuer for JwtAudience")
    check_authorized_routes(external, "external provider")
    check(external.value(resources["Function"]["Properties"]["Environment"]["Variables"]["OIDC_LOGOUT_ENDPOINT"]) == "",
          "external provider: no logout endpoint (its discovery names its end_session_endpoint, if any)")
    outputs = external.outputs()
    check("OidcIssuer" in outputs and "UserPoolId" not in outputs, "external provider: outputs the issuer, no pool")

    no_audience = Renderer(template, {"CreateUserPool": "false", "JwtIssuer": "https://idp.example/"})
    check(no_audience.refused_by() == ["ExternalIssuerNeedsAudience"], "an issuer with an empty audience is refused")
    check("JwtAuthorizer" not in no_audience.resources(), "... and never yields an authorizer without an audience")

    # ---- no sign-in: closed by default, open only when asked ---------------------------------
    closed = Renderer(template, {"CreateUserPool": "false"})
    check(closed.refused_by() == [] and "JwtAuthorizer" not in closed.resources(), "no provider: no authorizer")
    check(closed.value(closed.resources()["Function"]["Properties"]["Environment"]["Variables"]["ALLOW_ANONYMOUS"])
          == "false", "no provider: the function still refuses anonymous callers (401)")
    opened = Renderer(template, {"CreateUserPool": "false", "AllowAnonymous": "true"})
    check(opened.refused_by() == [] and opened.value(
        opened.resources()["Function"]["Properties"]["Environment"]["Variables"]["ALLOW_ANONYMOUS"]) == "true",
          "AllowAnonymous=true is the explicit open mode")

    if failures:
        print("%d failure(s)" % len(failures))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
