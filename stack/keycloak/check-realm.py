#!/usr/bin/env python3
"""Checks a running Keycloak against what Pasokh expects of the `pasokh` realm.

    python3 stack/keycloak/check-realm.py [http://127.0.0.1:18180]

Standard library only. Asks for real tokens (client credentials, password,
authorization code with PKCE, device authorization) and checks their claims,
audiences and signing keys. Exits non-zero when a check fails. The base URL
defaults to http://127.0.0.1:$PASOKH_KEYCLOAK_PORT (18180).
"""
import base64
import hashlib
import html
import http.cookiejar
import json
import os
import re
import secrets
import sys
import urllib.error
import urllib.parse
import urllib.request

BASE = sys.argv[1] if len(sys.argv) > 1 else f"http://127.0.0.1:{os.environ.get('PASOKH_KEYCLOAK_PORT', '18180')}"
ISSUER = f"{BASE}/realms/pasokh"
OIDC = f"{ISSUER}/protocol/openid-connect"
PASSWORD = "pasokh-demo"
AUDIENCES = {"pasokh-intake", "pasokh-routing", "pasokh-reporting", "pasokh-web", "pasokh-notification"}
# client id -> the audiences it may ask for (its optional aud-* scopes)
SERVICES = {
    "pasokh-intake": ["pasokh-routing"],
    "pasokh-routing": ["pasokh-intake"],
    "pasokh-notification": ["pasokh-intake", "pasokh-routing"],
    "pasokh-reporting": ["pasokh-intake", "pasokh-routing"],
    "partner-call-centre": ["pasokh-intake"],
    "partner-unlisted": ["pasokh-intake", "pasokh-routing"],
    "pasokh-test-short-lived": ["pasokh-intake", "pasokh-routing"],
}
STAFF_AUDIENCES = {"pasokh-intake", "pasokh-routing", "pasokh-reporting"}
# username -> the staff claims its token must carry (and no others)
USERS = {
    "operator-tehran": {"role": "operator", "province": "IR-23"},
    "operator-qom": {"role": "operator", "province": "IR-25"},
    "supervisor-tehran": {"role": "supervisor", "province": "IR-23"},
    "director-qom": {"role": "supervisor", "province": "IR-25"},
    "officer-sso-tehran": {"role": "officer", "organisation": "sso", "province": "IR-23"},
    "officer-sso-tehran-2": {"role": "officer", "organisation": "sso", "province": "IR-23"},
    "officer-welfare-tehran": {"role": "officer", "organisation": "welfare", "province": "IR-23"},
    "officer-sso-qom": {"role": "officer", "organisation": "sso", "province": "IR-25"},
    "inspector-hq": {"role": "inspector"},
    "inspector-hq-action": {"role": "inspector", "permissions": ["hq-action"]},
    "manager-sso": {"role": "manager", "organisation": "sso"},
}
STAFF_CLAIMS = ("role", "province", "organisation", "permissions")

failures = []


def check(ok, what):
    print(("ok   " if ok else "FAIL ") + what)
    if not ok:
        failures.append(what)
    return ok


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


def request(url, data=None, headers=None, opener=None, method=None):
    """(status, headers, body) without following redirects and without raising on 4xx/5xx."""
    body = urllib.parse.urlencode(data).encode() if isinstance(data, dict) else data
    req = urllib.request.Request(url, data=body, headers=headers or {}, method=method)
    opener = opener or urllib.request.build_opener(NoRedirect)
    try:
        with opener.open(req, timeout=30) as resp:
            return resp.status, resp.headers, resp.read().decode()
    except urllib.error.HTTPError as err:
        return err.code, err.headers, err.read().decode()


def get_json(url):
    status, _, body = request(url)
    assert status == 200, f"GET {url}: {status} {body[:200]}"
    return json.loads(body)


def token(form, realm="pasokh"):
    status, _, body = request(f"{BASE}/realms/{realm}/protocol/openid-connect/token", form)
    return status, json.loads(body) if body else {}


def decode(jwt):
    def part(p):
        return json.loads(base64.urlsafe_b64decode(p + "=" * (-len(p) % 4)))

    head, payload, _ = jwt.split(".")
    return part(head), part(payload)


def audiences(claims):
    aud = claims.get("aud", [])
    return set([aud] if isinstance(aud, str) else aud)


def client_credentials(client, scope=None):
    form = {"grant_type": "client_credentials", "client_id": client, "client_secret": f"dev-secret-{client}"}
    if scope:
        form["scope"] = scope
    return token(form)


def common_claims(claims, azp, what):
    check(claims.get("iss") == ISSUER, f"{what}: iss is {ISSUER}")
    check(claims.get("azp") == azp, f"{what}: azp is {azp}")
    check(bool(claims.get("sub")), f"{what}: has sub")
    check(isinstance(claims.get("iat"), int) and isinstance(claims.get("exp"), int), f"{what}: has iat and exp")


def browser():
    # Keycloak marks its cookies Secure; browsers send those to 127.0.0.1 and localhost over http too
    jar = http.cookiejar.CookieJar(http.cookiejar.DefaultCookiePolicy(secure_protocols=("https", "wss", "http")))
    return urllib.request.build_opener(NoRedirect, urllib.request.HTTPCookieProcessor(jar))


def submit_login(opener, page, username):
    """Fills Keycloak's login form; returns the next page within Keycloak, or where Keycloak sends the browser."""
    form = re.search(r'<form[^>]*id="kc-form-login"[^>]*action="([^"]+)"', page)
    if not form:
        return page
    status, headers, body = request(html.unescape(form.group(1)),
                                    {"username": username, "password": PASSWORD, "credentialId": ""}, opener=opener)
    while status in (302, 303) and headers["Location"].startswith(f"{ISSUER}/login-actions/"):
        status, headers, body = request(headers["Location"], opener=opener)
    return body if status != 302 else headers["Location"]


def browser_login(client_id, redirect_uri, username, challenge=True, secret=None):
    """Authorization code flow through the login form; returns the token response or what went wrong."""
    opener = browser()
    verifier = secrets.token_urlsafe(48)
    query = {"client_id": client_id, "redirect_uri": redirect_uri, "response_type": "code",
             "scope": "openid", "state": secrets.token_urlsafe(8)}
    if challenge:
        query["code_challenge"] = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
        query["code_challenge_method"] = "S256"
    status, headers, body = request(f"{OIDC}/auth?{urllib.parse.urlencode(query)}", opener=opener)
    if status in (301, 302, 303):
        return {"redirect": headers["Location"]}
    if status != 200 or "kc-form-login" not in body:
        return {"status": status, "body": body[:300]}
    location = submit_login(opener, body, username)
    code = urllib.parse.parse_qs(urllib.parse.urlparse(location).query).get("code", [None])[0]
    if not code:
        return {"location": location[:300]}
    form = {"grant_type": "authorization_code", "code": code, "redirect_uri": redirect_uri,
            "client_id": client_id, "code_verifier": verifier}
    if secret:
        form["client_secret"] = secret
    return token(form)[1]


def main():
    discovery = get_json(f"{ISSUER}/.well-known/openid-configuration")
    check(discovery["issuer"] == ISSUER, f"discovery: issuer {discovery['issuer']}")
    check(discovery["token_endpoint"] == f"{OIDC}/token", f"discovery: token endpoint {discovery['token_endpoint']}")
    check(discovery.get("device_authorization_endpoint") == f"{OIDC}/auth/device", "discovery: device authorization endpoint")
    jwks = get_json(discovery["jwks_uri"])
    signing = {k["kid"]: k for k in jwks["keys"] if k.get("use") == "sig"}
    check(any(k["alg"] == "RS256" and k["kty"] == "RSA" for k in signing.values()), "jwks: has an RS256 signing key")

    def signed_by_jwks(jwt, what):
        head, claims = decode(jwt)
        key = signing.get(head.get("kid"), {})
        check(head.get("alg") == "RS256" and key.get("alg") == "RS256", f"{what}: kid {head.get('kid')} is an RS256 signing key of the jwks")
        return claims

    # service accounts: an audience only when its scope is asked for
    for client, allowed in SERVICES.items():
        status, body = client_credentials(client)
        claims = signed_by_jwks(body["access_token"], f"{client} client credentials")
        common_claims(claims, client, f"{client} without scope")
        check(not audiences(claims) & AUDIENCES, f"{client} without scope: no pasokh audience (aud {claims.get('aud')})")
        for aud in allowed:
            status, body = client_credentials(client, f"aud-{aud}")
            claims = decode(body["access_token"])[1] if status == 200 else {}
            check(audiences(claims) & AUDIENCES == {aud}, f"{client} scope=aud-{aud}: aud {claims.get('aud')}")
        if len(allowed) > 1:
            status, body = client_credentials(client, " ".join(f"aud-{a}" for a in allowed))
            claims = decode(body["access_token"])[1]
            check(audiences(claims) & AUDIENCES == set(allowed), f"{client} all its scopes: aud {claims.get('aud')}")
        for aud in sorted(AUDIENCES - set(allowed)):
            status, body = client_credentials(client, f"aud-{aud}")
            check(status == 400 and body.get("error") == "invalid_scope", f"{client} scope=aud-{aud}: refused ({status} {body.get('error')})")
    # the web's own service account: notification (the citizen's one-time codes) only when asked for
    status, body = client_credentials("pasokh-web", "aud-pasokh-notification")
    claims = decode(body["access_token"])[1] if status == 200 else {}
    check("pasokh-notification" in audiences(claims), f"pasokh-web scope=aud-pasokh-notification: aud {claims.get('aud')}")
    status, body = client_credentials("pasokh-web")
    claims = decode(body["access_token"])[1] if status == 200 else {}
    check("pasokh-notification" not in audiences(claims), f"pasokh-web without scope: no notification audience (aud {claims.get('aud')})")
    status, body = token({"grant_type": "client_credentials", "client_id": "pasokh-routing", "client_secret": "wrong"})
    check(status == 401, f"wrong client secret refused ({status} {body.get('error')})")
    status, body = client_credentials("pasokh-test-short-lived", "aud-pasokh-intake")
    claims = decode(body["access_token"])[1]
    check(claims["exp"] - claims["iat"] == 1, f"pasokh-test-short-lived: exp - iat = {claims['exp'] - claims['iat']}")

    # staff through pasokhctl's password grant
    for user, want in USERS.items():
        status, body = token({"grant_type": "password", "client_id": "pasokhctl", "username": user, "password": PASSWORD})
        if not check(status == 200, f"{user} password grant ({status} {body.get('error_description', '')})"):
            continue
        claims = signed_by_jwks(body["access_token"], f"{user} token")
        common_claims(claims, "pasokhctl", user)
        got = {c: claims[c] for c in STAFF_CLAIMS if c in claims}
        check(got == want, f"{user}: staff claims {got}")
        check(STAFF_AUDIENCES <= audiences(claims), f"{user}: aud {claims.get('aud')}")
    status, body = token({"grant_type": "password", "client_id": "pasokhctl", "username": "operator-tehran", "password": "wrong"})
    check(status == 401, f"wrong password refused ({status} {body.get('error')})")
    status, body = token({"grant_type": "password", "client_id": "pasokh-web", "client_secret": "dev-secret-pasokh-web",
                          "username": "operator-tehran", "password": PASSWORD})
    check(status in (400, 401) and body.get("error") == "unauthorized_client", f"pasokh-web has no password grant ({status} {body.get('error')})")

    # pasokhctl: device authorization grant
    status, _, body = request(f"{OIDC}/auth/device", {"client_id": "pasokhctl"})
    device = json.loads(body) if status == 200 else {}
    check(bool(device.get("device_code")) and bool(device.get("user_code")),
          f"pasokhctl device authorization ({status}): verification_uri {device.get('verification_uri')}")

    # ... and completed in a browser: log in, grant (Keycloak always asks), then poll
    if device:
        opener = browser()
        status, headers, body = request(device["verification_uri_complete"], opener=opener)
        status, headers, body = request(headers.get("Location", ""), opener=opener) if status == 302 else (status, headers, body)
        body = submit_login(opener, body, "supervisor-tehran")
        consent = re.search(r'<form[^>]*action="([^"]*login-actions/consent[^"]*)"', body)
        code = re.search(r'name="code"[^>]*value="([^"]*)"', body)
        if consent and code:
            request(urllib.parse.urljoin(BASE, html.unescape(consent.group(1))), {"code": code.group(1), "accept": "Yes"}, opener=opener)
        status, body = token({"grant_type": "urn:ietf:params:oauth:grant-type:device_code", "client_id": "pasokhctl",
                              "device_code": device["device_code"]})
        claims = decode(body["access_token"])[1] if status == 200 else {}
        check(claims.get("azp") == "pasokhctl" and claims.get("role") == "supervisor" and STAFF_AUDIENCES <= audiences(claims),
              f"pasokhctl device flow completed: {status} role {claims.get('role')} aud {claims.get('aud')}")

    # pasokh-web: authorization code with PKCE, any port on 127.0.0.1 and localhost
    result = browser_login("pasokh-web", "http://127.0.0.1:8080/auth/callback", "officer-sso-tehran", challenge=False)
    location = result.get("redirect", "")
    refused = "error=invalid_request" in location and "code_challenge" in urllib.parse.unquote_plus(location)
    check(refused, f"pasokh-web without code_challenge: {urllib.parse.unquote_plus(location)[:120] or result}")
    for redirect in ("http://127.0.0.1:8080/auth/callback", "http://localhost:39999/cb"):
        result = browser_login("pasokh-web", redirect, "officer-sso-tehran", secret="dev-secret-pasokh-web")
        if check("access_token" in result, f"pasokh-web code flow with PKCE to {redirect}: {str(result)[:160] if 'access_token' not in result else 'token'}"):
            claims = decode(result["access_token"])[1]
            common_claims(claims, "pasokh-web", "pasokh-web user token")
            check({c: claims.get(c) for c in ("role", "organisation", "province")} ==
                  {"role": "officer", "organisation": "sso", "province": "IR-23"}, "pasokh-web user token: staff claims")
            check(STAFF_AUDIENCES <= audiences(claims), f"pasokh-web user token: aud {claims.get('aud')}")
    for redirect in ("http://evil.example/cb", "http://localhost:@evil.example/cb", "http://127.0.0.1.evil.example/cb"):
        result = browser_login("pasokh-web", redirect, "officer-sso-tehran")
        check("access_token" not in result and result.get("status") == 400, f"pasokh-web refuses redirect_uri {redirect}")

    for redirect, ok in (("http://127.0.0.1:8080/", True), ("http://localhost:3000/bye", True), ("http://evil.example/", False)):
        # no session to end: a valid address is redirected to at once, an invalid one is an error page
        status, headers, _ = request(f"{OIDC}/logout?" + urllib.parse.urlencode({"client_id": "pasokh-web", "post_logout_redirect_uri": redirect}))
        accepted = status == 302 and headers["Location"].startswith(redirect)
        check(accepted == ok, f"pasokh-web post_logout_redirect_uri {redirect} {'accepted' if ok else 'refused'} ({status})")

    # staff must not be able to change their own staff attributes: the user
    # profile keeps unmanaged attributes (role, province, ...) admin-only
    status, body = token({"grant_type": "password", "client_id": "admin-cli", "username": "admin", "password": "admin"},
                         realm="master")
    if check(status == 200, "bootstrap admin (admin/admin) logs into the master realm"):
        admin = {"Authorization": f"Bearer {body['access_token']}"}
        status, _, body = request(f"{BASE}/admin/realms/pasokh/users/profile", headers=admin)
        policy = json.loads(body).get("unmanagedAttributePolicy") if status == 200 else status
        check(policy == "ADMIN_EDIT", f"user profile: unmanagedAttributePolicy {policy} (ENABLED would let staff edit their role in the account console)")
    result = browser_login("account-console", f"{ISSUER}/account/", "operator-tehran")
    if "access_token" in result:
        auth = {"Authorization": f"Bearer {result['access_token']}", "Content-Type": "application/json", "Accept": "application/json"}
        got_me, _, body = request(f"{ISSUER}/account/", headers=auth)
        me = json.loads(body) if got_me == 200 else {}
        me.pop("userProfileMetadata", None)
        me["attributes"] = {**me.get("attributes", {}), "role": ["inspector"], "permissions": ["hq-action"]}
        post, _, _ = request(f"{ISSUER}/account/", json.dumps(me).encode(), headers=auth, method="POST")
        status, body = token({"grant_type": "password", "client_id": "pasokhctl", "username": "operator-tehran", "password": PASSWORD})
        got = {c: decode(body["access_token"])[1].get(c) for c in STAFF_CLAIMS}
        got = {c: v for c, v in got.items() if v is not None}
        check(got == USERS["operator-tehran"], f"operator-tehran cannot raise its own role in the account API (GET {got_me}, POST {post}; claims {got})")

    print(f"\n{len(failures)} failed" if failures else "\nall checks passed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
