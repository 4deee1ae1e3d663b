"""Single sign-on with an OpenID Connect provider: the authorization code flow with PKCE.

Authlib runs the OAuth 2 part (the authorization URL, the code exchange with the client's
secret and the PKCE verifier); joserfc checks the ID token: its signature against the
provider's published keys, and `iss`, `aud`, `exp`, `iat` and the `nonce` this sign-in chose.
Only the provider the operator configured is ever asked (AXIS_OIDC_ISSUER): nothing a
browser sends names a URL this module fetches.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

import requests
from authlib.common.security import generate_token
from authlib.integrations.requests_client import OAuth2Session
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet

DISCOVERY_TTL_S = 3600  # the provider's endpoints and keys, asked again at most hourly
TIMEOUT_S = 10
LEEWAY_S = 120  # clocks of the provider and the hub may differ this much


class OidcError(Exception):
    """The provider could not be reached, or what it answered does not prove who signed in."""


@dataclass(frozen=True)
class Start:
    """What a sign-in keeps between sending the browser away and its return."""

    url: str  # where to send the browser
    state: str
    nonce: str
    verifier: str


class OidcClient:
    def __init__(self, issuer: str, client_id: str, client_secret: str | None, scopes: str) -> None:
        self.issuer = issuer.rstrip("/")
        self.client_id = client_id
        self.client_secret = client_secret
        self.scopes = scopes
        self._lock = threading.Lock()
        self._config: dict | None = None
        self._keys: KeySet | None = None
        self._fetched = 0.0

    def _session(self, redirect_uri: str) -> OAuth2Session:
        return OAuth2Session(
            self.client_id,
            self.client_secret,
            scope=self.scopes,
            redirect_uri=redirect_uri,
            code_challenge_method="S256",
            token_endpoint_auth_method="client_secret_basic",
        )

    def _get(self, url: str) -> dict:
        try:
            r = requests.get(url, timeout=TIMEOUT_S)
            r.raise_for_status()
            return r.json()
        except (requests.RequestException, ValueError) as exc:
            raise OidcError(f"the identity provider did not answer {url}: {exc}") from exc

    def _discover(self, *, again: bool = False) -> tuple[dict, KeySet]:
        with self._lock:
            fresh = time.monotonic() - self._fetched < DISCOVERY_TTL_S
            if self._config is None or self._keys is None or again or not fresh:
                config = self._get(f"{self.issuer}/.well-known/openid-configuration")
                if config.get("issuer", "").rstrip("/") != self.issuer:
                    raise OidcError(
                        f"the provider calls itself {config.get('issuer')!r}, not {self.issuer!r}"
                    )
                try:
                    keys = KeySet.import_key_set(self._get(config["jwks_uri"]))
                except (KeyError, ValueError, JoseError) as exc:
                    raise OidcError(f"the provider's keys cannot be read: {exc}") from exc
                self._config, self._keys, self._fetched = config, keys, time.monotonic()
            return self._config, self._keys

    def start(self, redirect_uri: str) -> Start:
        config, _ = self._discover()
        state, nonce, verifier = generate_token(32), generate_token(32), generate_token(64)
        url, _ = self._session(redirect_uri).create_authorization_url(
            config["authorization_endpoint"], state=state, nonce=nonce, code_verifier=verifier
        )
        return Start(url, state, nonce, verifier)

    def finish(
        self, redirect_uri: str, code: str, verifier: str, nonce: str, wanted: str = ""
    ) -> dict:
        """Exchange the code for tokens and return the ID token's claims, checked; where the
        claim `wanted` is not in the ID token (providers may keep profile claims for the
        UserInfo endpoint), the UserInfo answer for the same subject is added."""
        config, keys = self._discover()
        try:
            token = self._session(redirect_uri).fetch_token(
                config["token_endpoint"], code=code, code_verifier=verifier, timeout=TIMEOUT_S
            )
        except Exception as exc:  # noqa: BLE001 - authlib raises its own and requests' errors
            raise OidcError(f"the provider refused the sign-in code: {exc}") from exc
        id_token = token.get("id_token")
        if not id_token:
            raise OidcError("the provider sent no ID token (is 'openid' among the scopes?)")
        try:
            decoded = jwt.decode(id_token, keys)
        except JoseError:
            # The provider may have rotated its keys since they were fetched.
            _, keys = self._discover(again=True)
            try:
                decoded = jwt.decode(id_token, keys)
            except JoseError as exc:
                raise OidcError(f"the ID token's signature does not verify: {exc}") from exc
        registry = jwt.JWTClaimsRegistry(
            leeway=LEEWAY_S,
            iss={"essential": True, "value": config["issuer"]},
            aud={"essential": True, "value": self.client_id},
            exp={"essential": True},
            iat={"essential": True},
            sub={"essential": True},
            nonce={"essential": True, "value": nonce},
        )
        try:
            registry.validate(decoded.claims)
        except JoseError as exc:
            raise OidcError(f"the ID token is not for this sign-in: {exc}") from exc
        claims = dict(decoded.claims)
        if wanted and wanted not in claims and config.get("userinfo_endpoint"):
            info = self._userinfo(config["userinfo_endpoint"], token.get("access_token", ""))
            if info.get("sub") != claims["sub"]:  # OIDC Core 5.3.2: else it may be substituted
                raise OidcError("the UserInfo answer is about another subject")
            claims = {**info, **claims}
        return claims

    def _userinfo(self, url: str, access_token: str) -> dict:
        try:
            r = requests.get(
                url, headers={"Authorization": f"Bearer {access_token}"}, timeout=TIMEOUT_S
            )
            r.raise_for_status()
            return r.json()
        except (requests.RequestException, ValueError) as exc:
            raise OidcError(f"the provider's UserInfo did not answer: {exc}") from exc
