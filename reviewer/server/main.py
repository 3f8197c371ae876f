"""``reviewer-server --backend URL --listen 127.0.0.1:8470``: run the backend service.

It connects to PostgreSQL as the backend's owner role (the role that ran
``reviewer-admin init-backend``) and serves workstations and partner tools over HTTP. Put
it behind a TLS reverse proxy, or give it a certificate (``--tls-cert``, ``--tls-key``);
workstations refuse plain HTTP to anything but this computer.
"""

from __future__ import annotations

import argparse
import logging
import sys
from datetime import timedelta
from pathlib import Path

from reviewer.policy.taxonomy import TaxonomyError, load_taxonomy
from reviewer.store.database import BackendError, Database, SchemaVersionError, check_schema

DEFAULT_LISTEN = "127.0.0.1:8470"
OPEN_CONNECTIONS = 10_000
"""Client connections kept open at once (each workstation keeps one between requests);
the requests handled at once are bounded by ``--max-connections``."""


DB_CONNECTIONS = 20
"""PostgreSQL connections the service holds (``--db-connections``): requests beyond them
wait for one, rather than each opening its own; well within the stock ``max_connections``
of 100, with room for people's own sign-in checks and an admin's session."""


def parse_listen(text: str) -> tuple[str, int]:
    host, sep, port = text.rpartition(":")
    if not sep or not port.isdigit() or not 0 < int(port) < 65536:
        raise argparse.ArgumentTypeError(f"write HOST:PORT, e.g. {DEFAULT_LISTEN}, not {text!r}")
    return host.strip("[]") or "127.0.0.1", int(port)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="reviewer-server", description=__doc__.split("\n\n")[0].strip("`"))
    parser.add_argument("--backend", required=True, metavar="URL",
                        help="PostgreSQL URL of the backend, as its owner role "
                             "(postgresql://reviews_owner@db/reviews)")
    parser.add_argument("--listen", type=parse_listen, default=parse_listen(DEFAULT_LISTEN),
                        metavar="HOST:PORT", help=f"where to listen (default {DEFAULT_LISTEN})")
    parser.add_argument("--policies", type=Path, default=None, metavar="FILE",
                        help="the policy taxonomy the service checks decisions against "
                             "(default: the shipped one)")
    parser.add_argument("--session-minutes", type=int, default=60,
                        help="how long a sign-in lasts before the workstation signs in "
                             "again (default 60)")
    parser.add_argument("--max-connections", type=int, default=200,
                        help="requests handled at once; more get 503 (default 200)")
    parser.add_argument("--db-connections", type=int, default=DB_CONNECTIONS,
                        help="PostgreSQL connections the service keeps open and uses at "
                             f"most (default {DB_CONNECTIONS})")
    parser.add_argument("--tls-cert", type=Path, default=None, help="PEM certificate")
    parser.add_argument("--tls-key", type=Path, default=None, help="PEM private key")
    return parser


def main(argv: list[str] | None = None) -> int:
    import uvicorn

    from reviewer.server.app import create_app
    from reviewer.server.requests import RequestLimit

    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    try:
        taxonomy = load_taxonomy(args.policies) if args.policies else load_taxonomy()
        database = Database.open(args.backend, migrate=False,
                                 pool_size=max(1, args.db_connections))
        if database.is_embedded:
            print("error: reviewer-server serves a PostgreSQL backend", file=sys.stderr)
            return 2
        check_schema(database.engine)
    except (BackendError, SchemaVersionError, TaxonomyError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    app = create_app(database, taxonomy,
                     session_ttl=timedelta(minutes=max(1, args.session_minutes)))
    host, port = args.listen
    config = uvicorn.Config(
        RequestLimit(app, args.max_connections), host=host, port=port, log_level="info",
        access_log=False, limit_concurrency=max(OPEN_CONNECTIONS, args.max_connections),
        timeout_keep_alive=15,
        ssl_certfile=str(args.tls_cert) if args.tls_cert else None,
        ssl_keyfile=str(args.tls_key) if args.tls_key else None)
    uvicorn.Server(config).run()
    database.dispose()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
