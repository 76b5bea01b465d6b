"""The development OpenID provider `bridges up` runs, so the tablet app signs in exactly as it
will against a real provider (Keycloak, Entra ID): the authorization-code flow with PKCE (S256
only), short JWT access tokens (RFC 9068) verified by the services through this provider's JWKS,
rotating refresh tokens, revocation and an end-session endpoint.

Built on authlib's OAuth 2.0 / OpenID Connect server (its Flask integration), everything in
memory. Development only: there are no passwords, whoever reaches the sign-in page picks one of
the demo users. Its tokens carry roles the way providers do (a `roles` list of the provider's own
names, the agency in `bridges_agency`), so the services read them through the same configured
claim mapping (`SERVICE_SETTINGS`) a production deployment configures for its provider.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import secrets
import signal
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from authlib.integrations.flask_oauth2 import AuthorizationServer
from authlib.oauth2 import OAuth2Error
from authlib.oauth2.rfc6749 import ClientMixin, InvalidRequestError, grants
from authlib.oauth2.rfc7009 import RevocationEndpoint
from authlib.oauth2.rfc7636 import CodeChallenge
from authlib.oauth2.rfc9068 import JWTBearerTokenGenerator
from authlib.oidc.core import UserInfo
from authlib.oidc.core.grants import OpenIDCode
from flask import Flask, redirect, render_template, request
from joserfc.jwk import ECKey, KeySet
from werkzeug.serving import make_server
from werkzeug.wrappers import Response

from bridges_devstack.demo import DemoUser, read_demo_users
from bridges_kit.cors import origin_of
from bridges_kit.rate_limits import Rate, RateLimiter, client_address
from bridges_schema import Role

log = logging.getLogger(__name__)

CLIENT_ID = "bridges-app"
SCOPES = ("openid", "profile", "email", "offline_access")
API_AUDIENCE = "bridges"
ALGORITHM = "ES256"
CODE_LIFETIME_S = 60
ACCESS_TOKEN_S = 300  # short: a stolen one is worth little; the app refreshes ahead of expiry
REFRESH_TOKEN_S = 12 * 3600  # a shift, then sign in again
# sign-in attempts per client address: generous, the browser tests all sign in from 127.0.0.1
# (a production provider has its own: Keycloak's brute-force detection, Entra's smart lockout)
SIGN_IN_RATE = Rate(per_minute=120, burst=60)

# the provider's own role names (as a Keycloak realm or Entra app roles would call them)
PROVIDER_ROLES = {
    Role.OFFICER: "bridges-officer",
    Role.AGENCY_STAFF: "bridges-agency-staff",
    Role.ADMIN: "bridges-admin",
    Role.OPS: "bridges-ops",
}
AGENCY_CLAIM = "bridges_agency"
# what the services are configured with to read this provider's tokens
SERVICE_SETTINGS = {
    "BRIDGES_JWT_ROLE_CLAIM": "roles",
    "BRIDGES_JWT_ROLE_VALUES": json.dumps({v: k.value for k, v in PROVIDER_ROLES.items()}),
    "BRIDGES_JWT_AGENCY_CLAIM": AGENCY_CLAIM,
}


def signing_key(private_key_pem: str) -> ECKey:
    """The ES256 key tokens are signed with, named by its RFC 7638 thumbprint."""
    key = ECKey.import_key(private_key_pem)
    return ECKey.import_key(
        private_key_pem, {"kid": key.thumbprint(), "use": "sig", "alg": ALGORITHM}
    )


def access_token_claims(user: DemoUser) -> dict[str, Any]:
    """What an access token says about `user` beyond the registered claims."""
    claims: dict[str, Any] = {
        "roles": [PROVIDER_ROLES[user.role]],
        "name": user.name,
        "email": user.email,
    }
    if user.agency_id is not None:
        claims[AGENCY_CLAIM] = user.agency_id
    return claims


@dataclass(frozen=True)
class Account(DemoUser):
    """A demo user as authlib asks of a resource owner."""

    @classmethod
    def of(cls, user: DemoUser) -> Account:
        return cls(user.id, user.name, user.role, user.agency_id, user.agency_name)

    def get_user_id(self) -> str:
        return self.id


@dataclass(frozen=True)
class AppClient(ClientMixin):  # type: ignore[misc]
    """The tablet app: a public client (no secret), PKCE, code and refresh grants only."""

    redirect_uris: tuple[str, ...]
    client_id: str = CLIENT_ID

    def get_client_id(self) -> str:
        return self.client_id

    def get_default_redirect_uri(self) -> str:
        return self.redirect_uris[0]

    def get_allowed_scope(self, scope: str) -> str:
        return " ".join(s for s in scope.split() if s in SCOPES)

    def check_redirect_uri(self, redirect_uri: str) -> bool:
        return redirect_uri in self.redirect_uris  # exact match, never a prefix

    def check_client_secret(self, client_secret: str) -> bool:
        return False

    def check_endpoint_auth_method(self, method: str, endpoint: str) -> bool:
        return method == "none"

    def check_response_type(self, response_type: str) -> bool:
        return response_type == "code"

    def check_grant_type(self, grant_type: str) -> bool:
        return grant_type in ("authorization_code", "refresh_token")


def token_generator(issuer: str, key: ECKey, access_token_s: int) -> JWTBearerTokenGenerator:
    """What signs the provider's tokens: JWT access tokens (RFC 9068) for the API's audience,
    with the Bridges claims of `access_token_claims`, and random refresh tokens."""

    class Generator(JWTBearerTokenGenerator):  # type: ignore[misc]
        DEFAULT_EXPIRES_IN = access_token_s
        GRANT_TYPES_EXPIRES_IN: dict[str, int] = {}

        def get_jwks(self) -> KeySet:
            return KeySet([key])

        def get_audiences(self, client: Any, user: Any, scope: str) -> str:
            return API_AUDIENCE

        def get_extra_claims(
            self, client: Any, grant_type: str, user: DemoUser, scope: str
        ) -> dict[str, Any]:
            return access_token_claims(user)

    return Generator(
        issuer.rstrip("/"),
        alg=ALGORITHM,
        refresh_token_generator=lambda *_, **__: secrets.token_urlsafe(32),
    )


def access_token(issuer: str, private_key_pem: str, user: DemoUser, ttl_s: int) -> str:
    """An access token of `user` exactly as the provider at `issuer` issues one (`stack.json`'s
    dev tokens, `bridges token`), without running it."""
    generator = token_generator(issuer, signing_key(private_key_pem), ttl_s)
    token: str = generator.access_token_generator(
        AppClient(()), "authorization_code", Account.of(user), "openid"
    )
    return token


@dataclass
class Grant:
    """An authorization code or a refresh token, with what it was issued for."""

    value: str
    user: DemoUser
    client_id: str
    scope: str
    expires_at: float
    redirect_uri: str = ""
    nonce: str | None = None
    code_challenge: str | None = None
    code_challenge_method: str | None = None
    auth_time: int = field(default_factory=lambda: int(time.time()))
    revoked: bool = False
    # one sign-in's code and every refresh token renewed from it: revoked together when a used
    # one comes back (OAuth 2.0 Security BCP 4.14: a replay means one of them was stolen)
    chain: str = field(default_factory=lambda: secrets.token_hex(16))

    # what authlib asks of codes and tokens
    def get_redirect_uri(self) -> str:
        return self.redirect_uri

    def get_scope(self) -> str:
        return self.scope

    def get_nonce(self) -> str | None:
        return self.nonce

    def get_auth_time(self) -> int:
        return self.auth_time

    def get_acr(self) -> None:
        return None

    def get_amr(self) -> list[str]:
        return ["dev"]

    def check_client(self, client: ClientMixin) -> bool:
        return bool(client.get_client_id() == self.client_id)

    def get_expires_in(self) -> int:
        return max(0, int(self.expires_at - time.time()))

    def is_expired(self) -> bool:
        return time.time() >= self.expires_at

    def is_revoked(self) -> bool:
        return self.revoked

    def get_user(self) -> DemoUser:
        return self.user


class StrictPkce(CodeChallenge):  # type: ignore[misc]
    """PKCE on every authorization request, S256 only (authlib alone would let a request
    without a challenge through to the token endpoint, and accept "plain")."""

    SUPPORTED_CODE_CHALLENGE_METHOD = ["S256"]

    def validate_code_challenge(self, grant: Any, redirect_uri: str) -> None:
        data = grant.request.payload.data
        if not data.get("code_challenge") or data.get("code_challenge_method") != "S256":
            raise InvalidRequestError("PKCE is required: a code_challenge with method S256")
        super().validate_code_challenge(grant, redirect_uri)


class Provider:
    """The provider's state (in memory) and its Flask app."""

    def __init__(
        self,
        *,
        issuer: str,
        users: list[DemoUser],
        private_key_pem: str,
        redirect_uris: list[str],
        access_token_s: int = ACCESS_TOKEN_S,
        refresh_token_s: int = REFRESH_TOKEN_S,
        sign_in_rate: Rate = SIGN_IN_RATE,
    ) -> None:
        self.sign_ins = RateLimiter("sign-ins per address", sign_in_rate)
        self.issuer = issuer.rstrip("/")
        self.users = {u.id: Account.of(u) for u in users}
        self.key = signing_key(private_key_pem)
        self.client = AppClient(tuple(redirect_uris))
        self.origins = {origin for uri in redirect_uris if (origin := origin_of(uri))}
        self.access_token_s = access_token_s
        self.refresh_token_s = refresh_token_s
        self.codes: dict[str, Grant] = {}
        self.used_codes: dict[str, Grant] = {}  # redeemed, kept while a replay could come
        self.refresh_tokens: dict[str, Grant] = {}
        self.lock = threading.Lock()  # the server runs each request in its own thread
        self.app = self._build_app()

    # -- tokens ------------------------------------------------------------------------------

    def _save_token(self, token: dict[str, Any], oauth_request: Any) -> None:
        refresh = token.get("refresh_token")
        if refresh:
            # a rotated token keeps its chain's end: a session lasts a shift, however renewed
            earlier = getattr(oauth_request, "refresh_token", None)
            ends = earlier.expires_at if isinstance(earlier, Grant) else None
            origin = earlier if isinstance(earlier, Grant) else oauth_request.authorization_code
            with self.lock:
                self.refresh_tokens[refresh] = Grant(
                    refresh,
                    oauth_request.user,
                    self.client.client_id,
                    token.get("scope", ""),
                    ends or time.time() + self.refresh_token_s,
                    chain=origin.chain,
                )

    def revoke_chain(self, chain: str) -> int:
        """Revoke every refresh token of a sign-in (call holding the lock); how many were
        still good. Its access tokens live out their few minutes: they are checked offline."""
        revoked = 0
        for grant in self.refresh_tokens.values():
            if grant.chain == chain and not grant.revoked:
                grant.revoked, revoked = True, revoked + 1
        return revoked

    def _redeemed(self, code: Grant) -> None:
        """Remember a redeemed code until it expires twice over (call holding the lock)."""
        now = time.time()
        for value in [
            v for v, g in self.used_codes.items() if g.expires_at + CODE_LIFETIME_S < now
        ]:
            del self.used_codes[value]
        self.used_codes[code.value] = code

    # -- the web app -------------------------------------------------------------------------

    def _build_app(self) -> Flask:
        app = Flask(__name__)
        server = AuthorizationServer(
            app,
            query_client=lambda cid: self.client if cid == self.client.client_id else None,
            save_token=self._save_token,
        )
        server.register_token_generator(
            "default", token_generator(self.issuer, self.key, self.access_token_s)
        )
        provider = self

        class CodeGrant(grants.AuthorizationCodeGrant):  # type: ignore[misc]
            TOKEN_ENDPOINT_AUTH_METHODS = ["none"]

            def save_authorization_code(self, code: str, oauth_request: Any) -> None:
                payload = oauth_request.payload
                with provider.lock:
                    provider.codes[code] = Grant(
                        code,
                        oauth_request.user,
                        provider.client.client_id,
                        payload.scope,
                        time.time() + CODE_LIFETIME_S,
                        redirect_uri=payload.redirect_uri,
                        nonce=payload.data.get("nonce"),
                        code_challenge=payload.data.get("code_challenge"),
                        code_challenge_method=payload.data.get("code_challenge_method"),
                    )

            def query_authorization_code(self, code: str, client: Any) -> Grant | None:
                with provider.lock:  # claimed as it is read: a code is good once, even in a race
                    found = provider.codes.pop(code, None)
                    if found is not None:
                        provider._redeemed(found)
                    elif (replayed := provider.used_codes.get(code)) is not None:
                        revoked = provider.revoke_chain(replayed.chain)
                        log.warning(
                            "a used code came back: %d refresh token(s) of its sign-in revoked",
                            revoked,
                        )
                        return None
                if found and found.check_client(client) and not found.is_expired():
                    return found
                return None

            def delete_authorization_code(self, authorization_code: Grant) -> None:
                pass  # claimed when read

            def authenticate_user(self, authorization_code: Grant) -> DemoUser:
                return authorization_code.user

        class RefreshGrant(grants.RefreshTokenGrant):  # type: ignore[misc]
            TOKEN_ENDPOINT_AUTH_METHODS = ["none"]
            INCLUDE_NEW_REFRESH_TOKEN = True  # rotation: each refresh token is good once

            def authenticate_refresh_token(self, refresh_token: str) -> Grant | None:
                with provider.lock:  # claimed as it is read: two renewals cannot both use it
                    found = provider.refresh_tokens.get(refresh_token)
                    if found is None or found.is_expired():
                        return None
                    if found.is_revoked():  # used already (or signed out): its chain goes too
                        revoked = provider.revoke_chain(found.chain)
                        if revoked:
                            log.warning(
                                "a used refresh token came back: %d of its chain revoked", revoked
                            )
                        return None
                    found.revoked = True
                return found

            def authenticate_user(self, credential: Grant) -> DemoUser:
                return credential.user

            def revoke_old_credential(self, refresh_token: Grant) -> None:
                pass  # claimed when read

        class IdToken(OpenIDCode):  # type: ignore[misc]
            def exists_nonce(self, nonce: str, oauth_request: Any) -> bool:
                return any(c.nonce == nonce for c in list(provider.codes.values()))

            def resolve_client_private_key(self, client: Any) -> ECKey:
                return provider.key

            def get_client_algorithm(self, client: Any) -> str:
                return ALGORITHM

            def get_client_claims(self, client: Any) -> dict[str, Any]:
                return {"iss": provider.issuer, "aud": [client.get_client_id()]}

            def get_encode_header(self, client: Any) -> dict[str, str]:
                return {"alg": ALGORITHM, "kid": provider.key.kid or ""}

            def generate_user_info(self, user: DemoUser, scope: str) -> UserInfo:
                return UserInfo(sub=user.id, name=user.name, email=user.email)

        class Revocation(RevocationEndpoint):  # type: ignore[misc]
            CLIENT_AUTH_METHODS = ["none"]

            def query_token(self, token_string: str, token_type_hint: str | None) -> Any:
                return provider.refresh_tokens.get(token_string)

            def revoke_token(self, token: Grant, oauth_request: Any) -> None:
                token.revoked = True

        server.register_grant(CodeGrant, [StrictPkce(required=True), IdToken()])
        server.register_grant(RefreshGrant)
        server.register_endpoint(Revocation)
        self._routes(app, server)
        return app

    def _routes(self, app: Flask, server: AuthorizationServer) -> None:
        @app.after_request
        def _headers(response: Response) -> Response:
            origin = request.headers.get("Origin")
            if origin in self.origins and request.path != "/authorize":
                response.headers["Access-Control-Allow-Origin"] = origin
                response.headers["Vary"] = "Origin"
            response.headers["X-Content-Type-Options"] = "nosniff"
            response.headers["X-Frame-Options"] = "DENY"
            response.headers["Referrer-Policy"] = "no-referrer"
            response.headers.setdefault("Cache-Control", "no-store")
            return response

        @app.get("/readyz")
        def _ready() -> dict[str, str]:
            return {"status": "ready"}

        @app.get("/healthz")  # the liveness probe `bridges up` asks (bridges_kit.healthcheck)
        def _alive() -> dict[str, str]:
            return {"status": "ok"}

        @app.get("/.well-known/openid-configuration")
        def _discovery() -> dict[str, Any]:
            return self.discovery()

        @app.get("/jwks")
        def _jwks() -> dict[str, Any]:
            return {"keys": [self.key.as_dict(private=False)]}

        @app.get("/authorize")
        def _authorize_page() -> Response | str:
            try:
                server.get_consent_grant(end_user=None)
            except OAuth2Error as error:  # never redirect to a URI the request did not prove
                return _refused(error)
            return self._chooser_page()

        @app.post("/authorize")
        def _authorize() -> Response:
            with self.lock:  # the limiter is not thread-safe; the server runs a thread a request
                wait_s = self.sign_ins.acquire(client_address(request.remote_addr, None, ()))
            if wait_s is not None:
                page = f"<h1>Too many sign-ins</h1><p>Try again in {wait_s} s.</p>"
                return Response(page, 429, {"Retry-After": str(wait_s)}, mimetype="text/html")
            user = self.users.get(request.form.get("user", ""))
            if user is None:
                return Response("unknown user", status=400)
            try:
                grant = server.get_consent_grant(end_user=user)
            except OAuth2Error as error:
                return _refused(error)
            response: Response = server.create_authorization_response(grant_user=user, grant=grant)
            return response

        @app.post("/token")
        def _token() -> Response:
            response: Response = server.create_token_response()
            return response

        @app.post("/revoke")
        def _revoke() -> Response:
            response: Response = server.create_endpoint_response("revocation")
            return response

        @app.get("/logout")
        def _logout() -> Response:
            back = request.args.get("post_logout_redirect_uri", "")
            if back and self.client.check_redirect_uri(back):
                state = request.args.get("state")
                return redirect(back + (f"?{urlencode({'state': state})}" if state else ""))
            return Response("Signed out.", mimetype="text/plain")

    def discovery(self) -> dict[str, Any]:
        return {
            "issuer": self.issuer,
            "authorization_endpoint": f"{self.issuer}/authorize",
            "token_endpoint": f"{self.issuer}/token",
            "jwks_uri": f"{self.issuer}/jwks",
            "revocation_endpoint": f"{self.issuer}/revoke",
            "end_session_endpoint": f"{self.issuer}/logout",
            "response_types_supported": ["code"],
            "grant_types_supported": ["authorization_code", "refresh_token"],
            "code_challenge_methods_supported": ["S256"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": [ALGORITHM],
            "token_endpoint_auth_methods_supported": ["none"],
            "scopes_supported": list(SCOPES),
            "claims_supported": ["sub", "name", "email", "roles", AGENCY_CLAIM],
        }

    def _chooser_page(self) -> Response:
        # templates/sign_in.html, escaped by Jinja2 (Flask autoescapes .html templates)
        roles = [
            (role.value.replace("_", " "), people)
            for role in Role
            if (people := [u for u in self.users.values() if u.role is role])
        ]
        action = "/authorize?" + request.query_string.decode()
        page = render_template("sign_in.html", action=action, roles=roles)
        response = Response(page, mimetype="text/html")
        response.headers["Content-Security-Policy"] = (
            "default-src 'none'; style-src 'unsafe-inline'; form-action 'self' "
            + " ".join(sorted(self.origins))
            + "; frame-ancestors 'none'; base-uri 'none'"
        )
        return response


def _refused(error: OAuth2Error) -> Response:
    """A sign-in request that is not the app's own (unknown client, wrong redirect URI, no
    PKCE): said on the page, never redirected to a URI the request has not proved."""
    detail = f"{error.error}: {error.description}" if error.description else error.error
    return Response(render_template("refused.html", detail=detail), 400, mimetype="text/html")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--host", default="127.0.0.1", help="0.0.0.0 in a container")
    parser.add_argument("--issuer", required=True)
    parser.add_argument("--users", type=Path, required=True, help="demo-users.json")
    parser.add_argument("--key", type=Path, required=True, help="the ES256 private key (PEM)")
    parser.add_argument("--redirect-uri", action="append", required=True)
    parser.add_argument("--access-token-s", type=int, default=ACCESS_TOKEN_S)
    parser.add_argument("--refresh-token-s", type=int, default=REFRESH_TOKEN_S)
    args = parser.parse_args(argv)
    provider = Provider(
        issuer=args.issuer,
        users=read_demo_users(args.users),
        private_key_pem=args.key.read_text(),
        redirect_uris=args.redirect_uri,
        access_token_s=args.access_token_s,
        refresh_token_s=args.refresh_token_s,
    )
    server = make_server(args.host, args.port, provider.app, threaded=True)
    signal.signal(signal.SIGTERM, lambda *_: threading.Thread(target=server.shutdown).start())
    print(f"development OpenID provider at {provider.issuer}", flush=True)
    with contextlib.suppress(KeyboardInterrupt):
        server.serve_forever()


if __name__ == "__main__":
    main()
