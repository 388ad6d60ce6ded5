"""``switchboard``: no arguments opens the console on an embedded engine; subcommands below."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from engine.settings import DEFAULT_HOST, DEFAULT_PORT, DEFAULT_SIP_PORT

AUTO = "auto"
SIMULATE_EXIT_CODES = """exit codes:
  0    every call was answered and reached the persona's goal
  1    some call was not answered (its SIP status is shown), missed its goal, or (--engine)
       has no row in the engine's calls
  2    bad input (unknown persona, malformed persona file, number, SIP address, counts), or
       the engine refused the API key, could not be reached, or has SIP off
  130  interrupted"""


def _sip_port(value: str) -> int | str:
    """``--sip-port``: a port number (0: any free port) or ``auto``."""
    if value == AUTO:
        return AUTO
    try:
        port = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a port number or auto") from None
    if not 0 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"{port} is not a port number (0-65535)")
    return port


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="switchboard",
        description="Softphone and supervisor console for AI voice agents. "
        "With no command, opens the console on an embedded engine.",
    )
    parser.add_argument("--engine", metavar="URL", help="attach the console to a remote engine")
    parser.add_argument("--api-key", metavar="KEY", help="API key of the remote engine")
    parser.add_argument("--data-dir", type=Path, help="data directory of the embedded engine")
    sub = parser.add_subparsers(dest="command")

    serve = sub.add_parser("serve", help="run the engine headless (API v1 + events WebSocket)")
    serve.add_argument("--data-dir", type=Path, dest="serve_data_dir")
    serve.add_argument("--host", default=DEFAULT_HOST)
    serve.add_argument("--port", type=int, default=DEFAULT_PORT, help="0 picks a free port")
    serve.add_argument("--demo", action="store_true", help="seed demo data into an empty data dir")
    serve.add_argument("--database-url", help="SQLAlchemy URL instead of the data dir's SQLite file")
    serve.add_argument("--sip-host", help="listen for SIP on this address (turns SIP on)")
    serve.add_argument("--sip-port", type=_sip_port, metavar="PORT",
                       help="listen for SIP (UDP and TCP) on this port; 0 picks a free port, "
                       f"auto takes {DEFAULT_SIP_PORT} when it is free and a free port otherwise "
                       "(turns SIP on)")
    serve.add_argument("--no-realtime", action="store_true",
                       help="keep the media thread and the RTP pacer at normal priority, even "
                       "where real-time scheduling is allowed")
    serve.add_argument("--demo-callers", type=int, default=0, metavar="N",
                       help="keep N simulated persona calls in progress on our SIP port "
                            "(needs SIP on; default 0: off)")
    serve.add_argument("--parent-pid", type=int, help=argparse.SUPPRESS)

    demo = sub.add_parser("demo", help="a fresh demo data dir, seeded, with the console attached "
                                       "and simulated callers calling its agents")
    demo.add_argument("--exit-after", type=float, metavar="SECONDS",
                      help="quit after this many seconds (the calls stay in the data dir)")
    demo.add_argument("--data-dir", type=Path, dest="demo_data_dir",
                      help="the demo's data dir (wiped first)")

    models = sub.add_parser("models", help="speech recognition models")
    models_sub = models.add_subparsers(dest="models_command", required=True)
    models_import = models_sub.add_parser("import", help="install a vosk model (zip or folder)")
    models_import.add_argument("path", type=Path)
    models_import.add_argument("--name", help="the model's name (default: the archive's folder)")
    models_import.add_argument("--data-dir", type=Path, dest="models_data_dir")
    models_import.add_argument("--replace", action="store_true", help="replace an installed model")
    models_list = models_sub.add_parser("list", help="list the installed models")
    models_list.add_argument("--data-dir", type=Path, dest="models_data_dir")

    simulate = sub.add_parser(
        "simulate", help="simulated callers playing a persona over SIP",
        description="Simulated callers play a persona (resources/personas) over real SIP and\n"
                    "RTP: against an engine, whose SIP address comes from its API and whose\n"
                    "row of each call is shown, or against any SIP address. A progress bar on\n"
                    "stderr while the calls run; a summary table on stdout at the end.",
        epilog=SIMULATE_EXIT_CODES, formatter_class=argparse.RawDescriptionHelpFormatter)
    simulate.add_argument("--persona", required=True, help="a persona of resources/personas")
    simulate.add_argument("--number", required=True, help="the number to dial, e.g. +14155550134")
    where = simulate.add_mutually_exclusive_group(required=True)
    where.add_argument("--engine", dest="sim_engine", metavar="URL",
                       help="an engine's API (http://HOST:PORT): its SIP address is read from "
                            "GET /v1/engine and each call's row shown; needs --api-key")
    where.add_argument("--sip", dest="sim_sip", metavar="sip:HOST[:PORT]",
                       help="any SIP address (no engine API needed; port 5060 when none)")
    simulate.add_argument("--api-key", dest="sim_api_key", metavar="KEY",
                          help="the engine's API key (with --engine)")
    simulate.add_argument("--count", type=int, default=1, help="calls in all (default 1)")
    simulate.add_argument("--concurrency", type=int, default=1, metavar="N",
                          help="calls at once at most (default 1: one after another)")
    simulate.add_argument("--limit", type=float, default=120.0, metavar="SECONDS",
                          help="hang up a call still on after this long (default 120)")

    shot = sub.add_parser("shot", help="render one console view offscreen to a PNG")
    shot.add_argument("view", help="calls, call:ID, agents, agent:ID, campaigns, campaign:ID, "
                      "numbers, usage, settings, live")
    shot.add_argument("out", type=Path)
    shot.add_argument("--size", default="1400x900")
    shot.add_argument("--theme", choices=("light", "dark"), default="light")
    shot.add_argument("--demo", action="store_true",
                      help="render against a fresh demo engine instead of the user's data")
    shot.add_argument("--data-dir", type=Path, dest="shot_data_dir")
    shot.add_argument("--tab", default=None,
                      help="show the view's tab with this title (e.g. Events, Metrics, Analysis)")
    shot.add_argument("--dock", action="store_true", help="with the softphone dock open")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.command == "serve":
        from engine.app import run
        from engine.settings import Settings

        auto = args.sip_port == AUTO
        settings = Settings.from_env(args.serve_data_dir or args.data_dir, host=args.host,
                                     port=args.port, database_url=args.database_url,
                                     sip_host=args.sip_host,
                                     sip_port=DEFAULT_SIP_PORT if auto else args.sip_port,
                                     sip_port_fallback=True if auto else None,
                                     sip_enabled=True if args.sip_host or args.sip_port is not None
                                     else None,
                                     media_realtime=False if args.no_realtime else None,
                                     demo_callers=args.demo_callers)
        if args.demo_callers < 0 or (args.demo_callers and not settings.sip_enabled):
            print("switchboard: --demo-callers needs N >= 0 and SIP on (--sip-port)",
                  file=sys.stderr)
            return 2
        return run(settings, parent_pid=args.parent_pid, demo=args.demo)
    if args.command == "models":
        from switchboard.models import run_models

        return run_models(args)
    if args.command == "simulate":
        from switchboard.simulate import run_simulate

        return run_simulate(args)
    if args.command == "shot":
        from console.shot import run_shot

        width, _, height = args.size.partition("x")
        return run_shot(args.view, args.out, size=(int(width), int(height)), theme=args.theme,
                        engine_url=args.engine, api_key=args.api_key,
                        data_dir=args.shot_data_dir or args.data_dir, demo=args.demo,
                        tab=args.tab, dock=args.dock)
    from console.main import run_console

    if args.command == "demo":
        return run_console(demo=True, data_dir=args.demo_data_dir or args.data_dir,
                           exit_after=args.exit_after)
    if args.engine and not args.api_key:
        print("switchboard: --engine needs --api-key (the remote engine's API key)", file=sys.stderr)
        return 2
    return run_console(engine_url=args.engine, api_key=args.api_key, data_dir=args.data_dir)


if __name__ == "__main__":
    sys.exit(main())
