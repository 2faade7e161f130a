"""The ``riskscore`` command: the only place that reads argv, env and config files."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import signal
import sys
import tomllib
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import platformdirs

from riskscore import __version__
from riskscore.config import Config, config_from_mapping, default_asn_db, with_overrides
from riskscore.errors import RiskscoreError

log = logging.getLogger("riskscore")


def default_data_dir() -> Path:
    """The per-user data directory (e.g. ~/.local/share/riskscore)."""
    return Path(platformdirs.user_data_dir("riskscore", appauthor=False))


def load_config(path: Path | None, data_dir: Path | None) -> Config:
    """Read the TOML file (if any) and apply --data-dir."""
    raw: dict[str, Any] = {}
    if path is not None:
        try:
            raw = tomllib.loads(path.read_text(encoding="utf-8"))
        except OSError as exc:
            raise SystemExit(f"riskscore: cannot read config file {path}: {exc}") from exc
        except tomllib.TOMLDecodeError as exc:
            raise SystemExit(f"riskscore: config file {path} is not valid TOML: {exc}") from exc
    if data_dir is not None:
        raw["data_dir"] = str(data_dir)
    return config_from_mapping(raw, default_data_dir=default_data_dir())


def _add_data_dir(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--data-dir",
        type=Path,
        help="directory holding all state (default: the per-user data directory, "
        f"{default_data_dir()})",
    )


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of every subcommand."""
    parser = argparse.ArgumentParser(
        prog="riskscore",
        description="Adaptive-authentication risk engine: scores sign-in attempts over gRPC.",
    )
    parser.add_argument("--version", action="version", version=f"riskscore {__version__}")
    parser.add_argument("--log-level", default="INFO", help="logging level (default INFO)")
    sub = parser.add_subparsers(dest="command", required=True)

    serve = sub.add_parser(
        "serve",
        help="run the gRPC RiskService and RiskAdminService",
        description="Run the gRPC RiskService and RiskAdminService (with health checking "
        "and reflection), the HTTP listener for AWS-style JSON APIs (CloudWatch Logs reads) "
        "and Prometheus metrics, on embedded defaults: SQLite profiles and history, the "
        "packaged GeoLite2 data, a local auth event log.",
    )
    serve.add_argument("--config", type=Path, help="TOML configuration file")
    _add_data_dir(serve)
    serve.add_argument("--grpc-address", help="HOST:PORT for gRPC (default 127.0.0.1:50051)")
    serve.add_argument(
        "--metrics-address",
        help="HOST:PORT for Prometheus metrics (default 127.0.0.1:9464; '' disables)",
    )
    serve.add_argument(
        "--http-address",
        help="HOST:PORT of the HTTP listener for AWS-style JSON APIs, e.g. CloudWatch Logs "
        "reads (default 127.0.0.1:8080; '' disables)",
    )
    serve.add_argument("--tls-cert", type=Path, help="PEM certificate chain (with --tls-key)")
    serve.add_argument("--tls-key", type=Path, help="PEM private key (with --tls-cert)")
    serve.add_argument(
        "--no-build-asn",
        action="store_true",
        help="fail instead of building the default ASN database when it is missing",
    )

    geo = sub.add_parser("geo", help="geo data commands")
    geo_sub = geo.add_subparsers(dest="geo_command", required=True)
    build = geo_sub.add_parser(
        "build-asn",
        help="build the default ASN database from geoip2fast's packaged data",
        description="Build a GeoLite2-ASN-format .mmdb from the ASN data shipped in PyPI's "
        "geoip2fast package, so the geoip2 reader serves ASN lookups with no download.",
    )
    _add_data_dir(build)
    build.add_argument("--output", type=Path, help="output file (default <data-dir>/geo/...)")
    build.add_argument("--force", action="store_true", help="rebuild even if it exists")

    breach = sub.add_parser("breach", help="compromised-credentials data")
    breach_sub = breach.add_subparsers(dest="breach_command", required=True)
    dump = breach_sub.add_parser(
        "import-dump",
        help="import a Pwned Passwords dump (SHA1:COUNT lines) for breach.source = dump",
        description="Stream a Pwned Passwords SHA-1 dump (lines SHA1HEX:COUNT, sorted or not) "
        "into a memory-mapped sorted file with a prefix index; then set breach.source = "
        '"dump" and breach.dump_path to the output.',
    )
    dump.add_argument("source", type=Path, help="the dump, e.g. pwned-passwords-sha1.txt")
    _add_data_dir(dump)
    dump.add_argument("--output", type=Path, help="output (default <data-dir>/breach/pwned.rsbh)")

    sim = sub.add_parser(
        "simulate",
        help="generate a labelled login log in the RBA dataset's layout",
        description="Generate a realistic, seeded login log (the RBA dataset's columns plus "
        "attack_kind) from the packaged GeoLite2 geography: legitimate users and six attack "
        "kinds. The world of real networks is built once into <data-dir>/learn/.",
    )
    sim.add_argument("--output", type=Path, required=True, help=".csv, .csv.gz or .parquet")
    sim.add_argument("--rows", type=int, default=100_000, help="rows to generate (default 100000)")
    sim.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    sim.add_argument("--days", type=float, default=14.0, help="span of the log (default 14)")
    sim.add_argument(
        "--start", default="2026-01-01T00:00:00+00:00", help="first timestamp (ISO-8601)"
    )
    sim.add_argument("--attack-share", type=float, default=0.05, help="share of attack rows")
    _add_data_dir(sim)

    from riskscore.batch.cli_args import add_batch_parser
    from riskscore.events.cli_logs import add_logs_parser
    from riskscore.learn.cli_args import add_learn_parsers
    from riskscore.policy.cli_policy import add_policy_parser

    add_logs_parser(sub)
    add_batch_parser(sub)
    add_learn_parsers(sub)
    add_policy_parser(sub)
    return parser


def _build_asn(output: Path, *, force: bool) -> None:
    from tqdm import tqdm

    from riskscore.enrich.asn_build import build_asn_database

    if output.is_file() and not force:
        print(f"ASN database already present: {output}")
        return
    with tqdm(desc="building ASN database", unit="net", file=sys.stderr) as bar:

        def progress(done: int, total: int) -> None:
            bar.total = total
            bar.update(done - bar.n)

        report = build_asn_database(output, progress=progress)
    print(f"wrote {report.path} ({report.networks} networks, sha256 {report.sha256})")


async def _serve(config: Config) -> None:
    from riskscore.service.server import create_server

    server, port = create_server(config)
    await server.start()
    log.info(
        "riskscore %s serving gRPC on port %d (data dir %s, metrics port %s, http port %s)",
        __version__,
        port,
        config.data_dir,
        server.metrics_port,
        server.http_port,
    )
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    log.info("shutting down: draining in-flight calls")
    await server.stop()
    log.info("stopped")


def _cmd_serve(args: argparse.Namespace) -> None:
    config = load_config(args.config, args.data_dir)
    config = with_overrides(
        config,
        server__grpc_address=args.grpc_address,
        server__metrics_address=args.metrics_address,
        server__http_address=args.http_address,
        server__tls_cert=args.tls_cert,
        server__tls_key=args.tls_key,
        # The environment beats the file so the secret can stay out of it.
        admin__token=os.environ.get("RISKSCORE_ADMIN_TOKEN") or None,
    )
    if not config.asn_db_path.is_file() and config.geo.asn_db is None and not args.no_build_asn:
        _build_asn(config.asn_db_path, force=False)
    asyncio.run(_serve(config))


def _cmd_geo(args: argparse.Namespace) -> None:
    config = load_config(None, args.data_dir)
    _build_asn(args.output or default_asn_db(config.data_dir), force=args.force)


def _cmd_breach(args: argparse.Namespace) -> None:
    from tqdm import tqdm

    from riskscore.enrich.breach import import_pwned_dump

    config = load_config(None, args.data_dir)
    output = args.output or config.data_dir / "breach" / "pwned.rsbh"
    total = args.source.stat().st_size
    with tqdm(total=total, unit="B", unit_scale=True, desc="importing", file=sys.stderr) as bar:

        def progress(n: int) -> None:
            bar.update(n)

        report = import_pwned_dump(args.source, output, progress=progress)
    print(f"wrote {report.path}: {report.records} hashes from {report.lines} lines")


def _cmd_simulate(args: argparse.Namespace) -> None:
    from datetime import datetime

    from riskscore.enrich.geo import packaged_city_database
    from riskscore.learn.simulate import simulate, write_log
    from riskscore.learn.world import load_or_build_world

    config = load_config(None, args.data_dir)
    try:
        start = datetime.fromisoformat(args.start)
    except ValueError:
        raise SystemExit(f"riskscore: --start {args.start!r} is not an ISO-8601 time") from None
    if start.tzinfo is None:
        raise SystemExit("riskscore: --start needs a time zone, e.g. +00:00")
    if args.rows < 1 or args.days <= 0 or not 0 <= args.attack_share < 1:
        raise SystemExit("riskscore: need --rows >= 1, --days > 0 and 0 <= --attack-share < 1")
    asn = config.asn_db_path if config.asn_db_path.is_file() else None
    cache = config.data_dir / "learn" / ("world-asn.npz" if asn else "world.npz")
    world = load_or_build_world(cache, packaged_city_database(), seed=0, asn_path=asn)
    frame = simulate(
        args.rows,
        seed=args.seed,
        start=start,
        days=args.days,
        world=world,
        attack_share=args.attack_share,
    )
    try:
        write_log(frame, args.output)
    except (ValueError, ImportError) as exc:
        raise SystemExit(f"riskscore: {exc}") from exc
    print(f"wrote {len(frame)} rows to {args.output}")


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``riskscore`` console script."""
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=args.log_level.upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    try:
        if args.command == "serve":
            _cmd_serve(args)
        elif args.command == "geo":
            _cmd_geo(args)
        elif args.command == "breach":
            _cmd_breach(args)
        elif args.command == "simulate":
            _cmd_simulate(args)
        elif args.command == "logs":
            from riskscore.events.cli_logs import run_logs

            return run_logs(args)
        elif args.command == "batch" and args.batch_command == "warm":
            from riskscore.batch.warm import run_warm

            return run_warm(args, load_config(args.config, args.data_dir))
        elif args.command == "batch":
            from riskscore.batch.cli_batch import run_batch

            return run_batch(args, load_config(args.config, args.data_dir))
        elif args.command in ("train", "evaluate"):
            from riskscore.learn.cli_learn import run_learn

            return run_learn(args, load_config(args.config, args.data_dir))
        elif args.command == "policy":
            from riskscore.policy.cli_policy import run_policy

            return run_policy(args)
    except RiskscoreError as exc:
        print(f"riskscore: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
