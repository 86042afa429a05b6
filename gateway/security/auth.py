"""Who is calling: API keys and JWTs become an ``Identity`` (client id + scopes).

Two kinds of credential, both sent in a header:

- an API key, ``Authorization: Bearer <key>`` or ``X-Api-Key: <key>``. Only
  its sha256 is configured (``[[clients]] key_hashes``); a presented key is
  hashed and compared against every configured hash in constant time.
- a JWT, ``Authorization: Bearer <header.payload.signature>``, signed HS256
  (``jwt_hs256_secret``) or RS256 (``jwt_rs256_public_key``); ``exp`` is
  required, ``nbf``, ``aud`` and ``iss`` are checked when configured. The
  client id is ``sub`` (or ``client_id``), the scopes ``scope`` (space
  separated) or ``scopes`` (a list).

A credential never appears in an error or a log line: messages name what was
wrong, not what was sent.
"""

from __future__ import annotations

import hmac
import re
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from gateway.errors import ErrorCode, RequestRejected
from gateway.pipeline import Exchange, Handler, Reply
from gateway.security.clients import (
    ALL_SCOPES,
    ClientConfig,
    Identity,
    check_client_scopes,
    hash_key,
)

if TYPE_CHECKING:
    from gateway.security.settings import SecuritySettings

_JWT_RE = re.compile(r"^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$")


class AuthError(Exception):
    """The request carried a credential that is not valid; the message is safe to show."""


def credential_from(headers: Mapping[str, str]) -> str | None:
    """The credential a request carries, or ``None``.

    Raises:
        AuthError: an ``Authorization`` header with another scheme than Bearer.
    """
    authorization = headers.get("authorization")
    if authorization:
        scheme, _, value = authorization.strip().partition(" ")
        if scheme.lower() != "bearer" or not value.strip():
            raise AuthError("Authorization: use 'Bearer <key or token>'")
        return value.strip()
    api_key = headers.get("x-api-key")
    return api_key.strip() if api_key and api_key.strip() else None


@dataclass(frozen=True, slots=True)
class Credentials:
    """Everything a credential is checked against: one immutable table.

    ``Authenticator.replace`` swaps it whole, so a request is checked against
    one configuration, never half of the old and half of the new.
    """

    clients: Mapping[str, ClientConfig]
    hashes: tuple[tuple[str, ClientConfig], ...]
    anonymous_scopes: frozenset[str]
    jwt_keys: Mapping[str, Any]
    audience: str | None
    issuer: str | None
    leeway: float
    #: The scopes a token may carry: the built-in ones and those bolt-ons declare.
    known_scopes: frozenset[str] = ALL_SCOPES


class Authenticator:
    """Turns request headers into an ``Identity``, from the settings' clients and JWT keys.

    Example:
        >>> from gateway.settings import Settings
        >>> key = new_key()
        >>> auth = Authenticator.from_settings(Settings(clients=[
        ...     {"id": "acme", "scopes": ["core:read"], "key_hashes": [hash_key(key)]}]))
        >>> auth.authenticate({"x-api-key": key}).client_id
        'acme'
    """

    def __init__(
        self,
        *,
        clients: list[ClientConfig],
        anonymous_scopes: frozenset[str],
        hs256_secret: str | None,
        rs256_public_key: str | None,
        audience: str | None,
        issuer: str | None,
        leeway: float,
        extra_scopes: frozenset[str] = frozenset(),
    ) -> None:
        self.extra_scopes = extra_scopes
        jwt_keys: dict[str, Any] = {}
        if hs256_secret:
            jwt_keys["HS256"] = hs256_secret
        if rs256_public_key:
            jwt_keys["RS256"] = rs256_public_key
        if jwt_keys:
            import jwt  # noqa: F401  (now, not in the first token's request)
        self._credentials = Credentials(
            clients=MappingProxyType({client.id: client for client in clients}),
            hashes=tuple((h, client) for client in clients for h in client.key_hashes),
            anonymous_scopes=anonymous_scopes,
            jwt_keys=MappingProxyType(jwt_keys),
            audience=audience,
            issuer=issuer,
            leeway=leeway,
            known_scopes=ALL_SCOPES | extra_scopes,
        )

    @classmethod
    def from_settings(
        cls, settings: SecuritySettings, *, extra_scopes: frozenset[str] = frozenset()
    ) -> Authenticator:
        """From the settings' clients and JWT keys.

        Args:
            extra_scopes: scopes the declared bolt-ons name, which clients and
                tokens may carry besides the built-in ones.

        Raises:
            ValueError: a client has a scope that is neither built-in nor declared.
        """
        secret = settings.jwt_hs256_secret
        # Production never serves anonymous callers, whatever the settings say.
        anonymous = frozenset(settings.anonymous_scopes) if settings.env != "production" else None
        check_client_scopes(settings.clients, extra_scopes)
        return cls(
            clients=settings.clients,
            anonymous_scopes=anonymous or frozenset(),
            hs256_secret=secret.get_secret_value() if secret is not None else None,
            rs256_public_key=settings.jwt_rs256_public_key,
            audience=settings.jwt_audience,
            issuer=settings.jwt_issuer,
            leeway=settings.jwt_leeway_seconds,
            extra_scopes=extra_scopes,
        )

    @property
    def credentials(self) -> Credentials:
        return self._credentials

    def replace(self, credentials: Credentials) -> None:
        """Check every later request against ``credentials`` (one assignment: atomic)."""
        self._credentials = credentials

    @property
    def allows_anonymous(self) -> bool:
        return bool(self._credentials.anonymous_scopes)

    def authenticate(self, headers: Mapping[str, str]) -> Identity | None:
        """The caller's identity; ``None`` when there is no credential and no anonymous access.

        Raises:
            AuthError: a credential was sent but is not valid.
        """
        credentials = self._credentials  # one table for the whole check
        credential = credential_from(headers)
        if credential is None:
            if credentials.anonymous_scopes:
                return Identity("anonymous", credentials.anonymous_scopes, "anonymous")
            return None
        if _JWT_RE.match(credential):
            return _from_jwt(credentials, credential)
        return _from_key(credentials, credential)


def _from_key(credentials: Credentials, key: str) -> Identity:
    presented = hash_key(key).encode()
    found: ClientConfig | None = None
    # Compare with every hash, without stopping early: timing tells nothing.
    for stored, client in credentials.hashes:
        if hmac.compare_digest(presented, stored.encode()):
            found = client
    if found is None:
        raise AuthError("the API key is not valid")
    if found.revoked:
        raise AuthError("the API key has been revoked")
    return Identity(found.id, frozenset(found.scopes), "api_key", found.allowlist_only)


def _from_jwt(credentials: Credentials, token: str) -> Identity:
    # Imported here (and by Authenticator when keys are configured): PyJWT with cryptography is
    # ~9 MB in every worker, and a gateway of API keys only never uses it.
    import jwt

    try:
        algorithm = jwt.get_unverified_header(token).get("alg")
    except jwt.PyJWTError as exc:
        raise AuthError("the token is not a valid JWT") from exc
    key = credentials.jwt_keys.get(str(algorithm))
    if key is None:
        raise AuthError(f"tokens signed with {algorithm!s:.10} are not accepted")
    options: Any = {"require": ["exp"], "verify_aud": credentials.audience is not None}
    try:
        claims: dict[str, Any] = jwt.decode(
            token,
            key,
            algorithms=[str(algorithm)],
            audience=credentials.audience,
            issuer=credentials.issuer,
            leeway=credentials.leeway,
            options=options,
        )
    except jwt.ExpiredSignatureError as exc:
        raise AuthError("the token has expired") from exc
    except jwt.ImmatureSignatureError as exc:
        raise AuthError("the token is not valid yet (nbf)") from exc
    except jwt.InvalidAudienceError as exc:
        raise AuthError("the token is not meant for this gateway (aud)") from exc
    except jwt.InvalidIssuerError as exc:
        raise AuthError("the token's issuer is not trusted (iss)") from exc
    except jwt.MissingRequiredClaimError as exc:
        raise AuthError(f"the token lacks the '{exc.claim}' claim") from exc
    except jwt.PyJWTError as exc:
        raise AuthError("the token's signature or claims are not valid") from exc
    return _jwt_identity(credentials, claims)


def _jwt_identity(credentials: Credentials, claims: dict[str, Any]) -> Identity:
    client_id = claims.get("client_id") or claims.get("sub")
    if not isinstance(client_id, str) or not client_id:
        raise AuthError("the token lacks a 'sub' (client id)")
    raw = claims.get("scope", claims.get("scopes", []))
    requested = raw.split() if isinstance(raw, str) else raw
    if not isinstance(requested, list):
        raise AuthError("the token's 'scope' must be a string or a list")
    scopes = frozenset(str(s) for s in requested) & credentials.known_scopes
    configured = credentials.clients.get(client_id)
    allowlist_only = False
    if configured is not None:
        if configured.revoked:
            raise AuthError("the client has been revoked")
        # A token never grants more than its client was given.
        scopes &= frozenset(configured.scopes)
        allowlist_only = configured.allowlist_only
    return Identity(client_id, scopes, "jwt", allowlist_only)


def identity_or_none(authenticator: Authenticator, headers: Mapping[str, str]) -> Identity | None:
    """The identity for a channel that cannot answer 401 (websockets); ``None`` when invalid."""
    try:
        return authenticator.authenticate(headers)
    except AuthError:
        return None


_CHALLENGE = 'Bearer realm="gateway"'


class Authenticate:
    """Step: the caller's ``Identity``, or 401 with a challenge before any GraphQL work.

    Args:
        authenticator: checks the credentials; ``None`` lets everyone through
            anonymously (tests of other layers).
    """

    def __init__(self, authenticator: Authenticator | None) -> None:
        self.authenticator = authenticator

    async def __call__(self, exchange: Exchange, call_next: Handler) -> Reply:
        if self.authenticator is not None:
            exchange.identity = self.identify(exchange.connection.headers)
        return await call_next(exchange)

    def identify(self, headers: Mapping[str, str]) -> Identity:
        assert self.authenticator is not None
        try:
            identity = self.authenticator.authenticate(headers)
        except AuthError as exc:
            raise RequestRejected(
                str(exc),
                status=401,
                code=ErrorCode.UNAUTHENTICATED,
                headers={"WWW-Authenticate": _CHALLENGE + ', error="invalid_token"'},
            ) from None
        if identity is None:
            raise RequestRejected(
                "authentication required: send 'Authorization: Bearer <API key or JWT>' "
                "or 'X-Api-Key: <API key>'",
                status=401,
                code=ErrorCode.UNAUTHENTICATED,
                headers={"WWW-Authenticate": _CHALLENGE},
            )
        return identity
