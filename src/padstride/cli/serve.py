"""``padstride serve``: the interactive explorer in your browser (local web server)."""

from __future__ import annotations

import argparse
import sys

from ._args import int_range
from ._common import CliError

__all__ = ["HELP", "add_arguments", "run"]

HELP = "Start the interactive explorer of padding and stride on a local web page."


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--port", type=int_range(0, 65535), default=8000,
                        help="port (default 8000; 0 picks a free one)")
    parser.add_argument("--host", default=None,
                        help="address to bind (default 127.0.0.1); requests must name localhost, 127.0.0.1, "
                             "[::1] or this host in their Host header")
    parser.add_argument("--no-browser", action="store_true", help="do not open a browser window")


def run(args: argparse.Namespace) -> int:
    from ..viz.server import make_server

    host = args.host or "127.0.0.1"
    try:
        server = make_server(host, args.port, [args.host] if args.host else [])
    except (OSError, ValueError, TypeError, UnicodeError) as exc:  # a NUL in the host name: TypeError
        raise CliError(f"cannot listen on {host!r}:{args.port}: {getattr(exc, 'strerror', None) or exc}") from None
    url = server.url
    print(f"padstride explorer at {url} (Ctrl-C to stop)", flush=True)
    if not args.no_browser:
        import webbrowser

        webbrowser.open(url)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        sys.stderr.write("\nstopped\n")
    finally:
        server.server_close()
    return 0
