"""S3 plumbing of the warehouse: the pyarrow filesystem, DuckDB's extensions, the access check.

Credentials stay in this process's memory (as in the S3 client itself); they are never
logged or stored. :class:`WarehouseAccessError` messages are one line and hold no secret.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import duckdb
import pyarrow.fs as pafs
from dagster_aws.s3 import S3Resource


def sql_string(value: str) -> str:
    """A SQL string literal (single quotes doubled)."""
    return "'" + str(value).replace("'", "''") + "'"


@dataclass(frozen=True, repr=False)
class S3Access:
    """How one process reaches an S3 root, rendered for each client: DuckDB's secret, dbt's
    environment, delta-rs's storage options. Holds the credentials: never logged (no repr)."""

    key: str | None
    secret: str | None
    token: str | None
    region: str
    host: str | None  # host[:port] of a non-AWS endpoint
    scheme: str
    url_style: str  # "path" or "vhost"

    def duckdb_secret_sql(self, name: str, scope: str) -> str:
        """A temporary S3 secret ``name`` for paths under ``scope`` (an ``s3://`` prefix)."""
        opts = [
            f"KEY_ID {sql_string(self.key or '')}",
            f"SECRET {sql_string(self.secret or '')}",
            f"REGION {sql_string(self.region)}",
            f"URL_STYLE {sql_string(self.url_style)}",
        ]
        if self.token:
            opts.append(f"SESSION_TOKEN {sql_string(self.token)}")
        if self.host:
            opts += [f"ENDPOINT {sql_string(self.host)}", f"USE_SSL {'true' if self.scheme == 'https' else 'false'}"]
        opts.append(f"SCOPE {sql_string(scope)}")
        return f"CREATE OR REPLACE TEMPORARY SECRET {name} (TYPE s3, {', '.join(opts)})"

    def dbt_env(self) -> dict[str, str]:
        """Environment of dbt/profiles.yml; the credentials go in ``DBT_ENV_SECRET_*`` variables,
        which dbt scrubs from its logs and artifacts (nothing secret travels in ``--vars``)."""
        return {
            "MARS_S3_REGION": self.region,
            "MARS_S3_ENDPOINT_HOST": self.host or "s3.amazonaws.com",
            "MARS_S3_URL_STYLE": self.url_style,
            "MARS_S3_USE_SSL": "true" if self.scheme == "https" else "false",
            "DBT_ENV_SECRET_S3_KEY_ID": self.key or "",
            "DBT_ENV_SECRET_S3_SECRET": self.secret or "",
            "DBT_ENV_SECRET_S3_SESSION_TOKEN": self.token or "",
        }

    def delta_options(self) -> dict[str, str]:
        """delta-rs (object_store) storage options. Conditional writes stay on (the default): never
        set AWS_S3_ALLOW_UNSAFE_RENAME, which would let two writers overwrite each other's commit."""
        opts = {"AWS_REGION": self.region, "AWS_VIRTUAL_HOSTED_STYLE_REQUEST": str(self.url_style == "vhost").lower()}
        if self.key and self.secret:
            opts |= {"AWS_ACCESS_KEY_ID": self.key, "AWS_SECRET_ACCESS_KEY": self.secret}
        if self.token:
            opts["AWS_SESSION_TOKEN"] = self.token
        if self.host:
            opts |= {
                "AWS_ENDPOINT_URL": f"{self.scheme}://{self.host}",
                "AWS_ALLOW_HTTP": str(self.scheme == "http").lower(),
            }
        return opts


class WarehouseAccessError(RuntimeError):
    """The warehouse root cannot be used (one line naming the problem; never a secret)."""


def load_extensions(con: duckdb.DuckDBPyConnection, s3: bool) -> None:
    """Load DuckDB's delta extension (and httpfs when ``s3``): the pip-installed binaries
    (duckdb-ext-delta, duckdb-ext-httpfs) when present, else DuckDB's own autoloading."""
    try:
        import duckdb_ext
    except ImportError:  # fall back to DuckDB's own extension repository
        pass
    else:
        duckdb_ext.init(con)
    if s3:
        con.execute("LOAD httpfs")
    con.execute("LOAD delta")


@functools.lru_cache(maxsize=2)
def shared_database(s3: bool) -> duckdb.DuckDBPyConnection:
    """One in-memory DuckDB database per process with the extensions loaded (loading delta costs
    ~0.3 s a connection): Warehouse.connect hands out cursors of it, each a connection of its own
    (usable from its own thread), sharing the loaded extensions and the secrets."""
    con = duckdb.connect(":memory:")
    load_extensions(con, s3=s3)
    return con


@functools.lru_cache(maxsize=8)
def s3_filesystem(
    key: str | None, secret: str | None, token: str | None, region: str, host: str | None, scheme: str, vhost: bool
) -> pafs.S3FileSystem:
    """A pyarrow S3 filesystem (thread-safe) for these settings, kept for reuse (see Warehouse._fs);
    the secrets stay in this process's memory, as they do in the S3 client itself."""
    return pafs.S3FileSystem(
        access_key=key,
        secret_key=secret,
        session_token=token,
        region=region,
        endpoint_override=host,
        scheme=scheme,
        force_virtual_addressing=vhost,
        connect_timeout=10,
        request_timeout=60,
    )


def check_bucket(s3: S3Resource, bucket: str, credentials: tuple[str | None, str | None, str | None]) -> None:
    """One HEAD of ``bucket``; raises WarehouseAccessError with one line: no credentials, missing
    bucket, rejected credentials or unreachable endpoint."""
    import botocore.exceptions as bx

    endpoint = s3.endpoint_url or "AWS S3"
    key, secret, token = credentials
    if not key:
        raise WarehouseAccessError("no S3 credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY")
    client = S3Resource(
        endpoint_url=s3.endpoint_url,
        region_name=s3.region_name,
        use_ssl=s3.use_ssl,
        verify=s3.verify,
        max_attempts=1,
        aws_access_key_id=key,
        aws_secret_access_key=secret,
        aws_session_token=token,
    ).get_client()
    try:
        client.head_bucket(Bucket=bucket)
    except bx.EndpointConnectionError:
        raise WarehouseAccessError(f"S3 endpoint {endpoint} is unreachable") from None
    except bx.ClientError as exc:
        code = str(exc.response.get("Error", {}).get("Code", ""))
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        if code in ("404", "NoSuchBucket") or status == 404:
            raise WarehouseAccessError(f"S3 bucket {bucket!r} does not exist at {endpoint}") from None
        if (
            code in ("403", "InvalidAccessKeyId", "SignatureDoesNotMatch", "AccessDenied", "InvalidClientTokenId")
            or status == 403
        ):
            raise WarehouseAccessError(
                f"S3 credentials were rejected for bucket {bucket!r} at {endpoint} (HTTP {status} {code})"
            ) from None
        raise WarehouseAccessError(f"S3 bucket {bucket!r} at {endpoint}: HTTP {status} {code}") from None
    except bx.BotoCoreError as exc:
        raise WarehouseAccessError(f"S3 endpoint {endpoint}: {type(exc).__name__}") from None
