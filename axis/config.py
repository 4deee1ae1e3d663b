"""One settings object, read from AXIS_* environment variables, with embedded defaults.

The embedded default needs nothing installed: SQLite and a local directory store under the data dir.
PostgreSQL and S3/MinIO are chosen by setting a URL, not by a code path fork.
"""

from __future__ import annotations

import re
from functools import cached_property
from pathlib import Path
from typing import Literal

from pydantic_settings import BaseSettings, SettingsConfigDict

MB = 1024 * 1024


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="AXIS_", env_file=None, extra="ignore")

    data_dir: Path = Path("./axis-data")
    database_url: str | None = None  # default: sqlite under data_dir
    store_url: str | None = None  # default: local directory under data_dir; or s3://...
    host: str = "127.0.0.1"
    port: int = 8080

    max_body_bytes: int = 50 * MB
    # Threads per API process for submissions, which wait on the store (axis.api.limits),
    # apart from the threads of every other endpoint.
    store_threads: int = 32
    # A request body must arrive whole within this time from the request's start (a body that
    # trickles is answered 408 and the connection closed): 50 MB at 4 Mbit/s takes 100 s.
    body_timeout_s: float = 120.0
    sqlite_synchronous: Literal["FULL", "NORMAL"] = "FULL"  # FULL: a receipt survives power loss

    signature_policy: Literal["strict", "lenient", "off"] = "strict"
    # Vietnam's public trust anchors shipped with axis (signing/anchors/vn, docs/trust.md);
    # the operator's `axis trust add|remove` changes (under <data_dir>/trust) apply on top.
    trust_shipped: bool = True
    # More roots and intermediates: PEM/DER files or directories, separated by ":" or ",".
    trust_roots: str = ""
    trust_intermediates: str = ""
    revocation_policy: Literal["hard-fail", "soft-fail", "off"] = "soft-fail"
    revocation_fetch: bool = True  # ask OCSP responders and CRL points over HTTP
    validation_timeout_s: float = 20.0
    rules: str | None = None  # a file of rule severity overrides, or "off"
    # Certificate → agency code mapping for the rules' certificate cross-checks (TOML/JSON/YAML:
    # {"sha256:<SPKI hex>": "000.00.00.G22", "O=Văn phòng Chính phủ": "000.00.00.G22"}).
    cert_agency_map: str | None = None

    inbox_page_max: int = 500
    # Webhooks never lead to this machine or link-local addresses (the cloud's metadata
    # service); these CIDRs, comma-separated, are allowed anyway (a receiver on the hub's host)
    webhook_allowed_networks: str = ""

    # /healthz answers 503 DISK_LOW when a disk the hub writes to (data dir, SQLite, local
    # store) has less free space than this.
    health_min_free_bytes: int = 64 * MB

    # The store reaper (axis.service.reaper, `axis store reap`): workers run it this often
    # (0: never) and remove orphans older than the grace (keep it far above a submission's time).
    store_reap_interval_s: float = 6 * 3600.0
    store_reap_grace_s: float = 3600.0

    # Archival records of accepted documents (Circular 02/2019): default retention and access.
    archive_retention_years: int = 10
    archive_permanent: bool = False
    archive_access: str = "public"
    # A document's status history is sealed into its record when every recipient reports it
    # completed (06), or this many days after acceptance for the rest (`axis archive seal`).
    archive_seal_after_days: int = 90
    # POST /v1/archive/export builds its zip in one request: larger sets go through the CLI.
    archive_export_max_records: int = 200
    signers: str | None = None  # file of signers whose keys the hub holds (POST /v1/sign)
    # Master key of the connected systems' secrets (axis.adapters.secret_box): Fernet keys,
    # comma-separated, or a file of them; default: <data dir>/secret.key, made on first use.
    secret_key: str | None = None
    secret_key_file: Path | None = None

    # Federation (issue 15): the hub above this one (the national axis, or an axis), spoken to
    # with the national protocol as a connected system of it. Unset: no upstream.
    upstream_url: str | None = None  # e.g. http://national.example:8080/vxp
    upstream_system_id: str | None = None
    upstream_secret: str | None = None
    upstream_timeout_s: float = 30.0  # per read/write of one call (the SDK has none)
    upstream_connect_timeout_s: float = 5.0
    upstream_poll_s: float = 2.0  # how often workers ask the upstream what waits for us
    upstream_sync_s: float = 3600.0  # how often workers refresh the upstream directory

    @property
    def upstream_enabled(self) -> bool:
        return bool(self.upstream_url and self.upstream_system_id and self.upstream_secret)

    # Per-agency figures (issue 6): recorded in the same transaction as the messages.
    metrics_enabled: bool = True
    # Prometheus gets one series per agency only while the directory is at most this large.
    metrics_per_agency_max: int = 200
    # /metrics answers an operator key, or this token as 'Authorization: Bearer <it>' (for a
    # Prometheus that should hold no API key); nobody else (docs/security.md)
    metrics_token: str | None = None
    # Console single sign-on (docs/console.md): an OpenID Connect provider the operator runs
    # (Keycloak, the ministry's IdP...). A person signs in there and comes back as the axis
    # user whose name is the ID token's `oidc_username_claim`; roles stay in axis.
    oidc_issuer: str | None = None
    oidc_client_id: str = "axis-console"
    oidc_client_secret: str | None = None
    oidc_username_claim: str = "preferred_username"
    oidc_scopes: str = "openid profile email"
    oidc_label: str = ""  # the button's words, e.g. "Đăng nhập bằng tài khoản Bộ"
    # The callback URL as the provider knows it (default: this hub's URL + /login/sso/callback)
    oidc_redirect_url: str | None = None
    # /docs, /redoc and /openapi.json served to anyone (an integration hub); off by default
    public_docs: bool = False
    stats_max_days: int = 1830  # widest range a stats query or export accepts (5 years)
    stats_max_points: int = 1500  # most periods in one series (a day of minutes, 2 months of hours)

    # Evidence (issue 18, docs/evidence.md): signed receipts and a tamper-evident log.
    evidence_enabled: bool = True
    # The hub's signing key: a PKCS#12 file, or a file (TOML/JSON/YAML) shaped like a signer's
    # spec (p12 + password_env | pem_key + pem_cert | pkcs11_module + token + key + pin_env).
    # Default: <data_dir>/hub-key/current.p12, a self-signed ECDSA P-256 key made on first use.
    hub_key: str | None = None
    hub_key_password: str | None = None  # of a PKCS#12 given as hub_key
    evidence_tsa_url: str | None = None  # RFC 3161 TSA timestamping the log's heads
    evidence_tsa_roots: str = ""  # roots the TSA chains to (verify-log), ":" or "," separated
    evidence_seal_every: int = 1000  # a head every N entries ...
    evidence_seal_interval_s: float = 10.0  # ... or T seconds, by the worker

    @cached_property
    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'axis.db').resolve()}"

    @cached_property
    def resolved_store_url(self) -> str:
        if self.store_url:
            return self.store_url
        return str((self.data_dir / "objects").resolve())

    @property
    def trust_root_paths(self) -> list[str]:
        return _split_paths(self.trust_roots)

    @property
    def trust_intermediate_paths(self) -> list[str]:
        return _split_paths(self.trust_intermediates)

    @property
    def hub_key_dir(self) -> Path:
        return self.data_dir / "hub-key"

    @property
    def trust_local_dir(self) -> Path:
        return self.data_dir / "trust"

    @property
    def is_sqlite(self) -> bool:
        return self.resolved_database_url.startswith("sqlite")


def _split_paths(value: str) -> list[str]:
    return [p for p in re.split(r"[:,]", value) if p.strip()]
