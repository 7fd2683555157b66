"""S3 plumbing of the warehouse: the pyarrow filesystem, DuckDB's httpfs, the access check.

Credentials stay in this process's memory (as in the S3 client itself); they are never
logged or stored. :class:`WarehouseAccessError` messages are one line and hold no secret.
"""

from __future__ import annotations

import functools

import duckdb
import pyarrow.fs as pafs
from dagster_aws.s3 import S3Resource


def sql_string(value: str) -> str:
    """A SQL string literal (single quotes doubled)."""
    return "'" + str(value).replace("'", "''") + "'"


class WarehouseAccessError(RuntimeError):
    """The warehouse root cannot be used (one line naming the problem; never a secret)."""


def load_httpfs(con: duckdb.DuckDBPyConnection) -> None:
    """Load DuckDB's httpfs: the pip-installed binary (duckdb-ext-httpfs) if present, else autoload."""
    try:
        import duckdb_ext
    except ImportError:  # fall back to DuckDB's own extension repository
        con.execute("LOAD httpfs")
        return
    duckdb_ext.init(con)
    con.execute("LOAD httpfs")


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
