"""The client's entry point: parse arguments, pick the curses or the line-mode view."""
from __future__ import annotations

import argparse
import sys

from chat import plain


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="client.py", description="Chat on a Parlor server.")
    parser.add_argument("--host", default="127.0.0.1", help="server address (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=5220, help="server port (default 5220)")
    parser.add_argument("--room", help="join ROOM right after connecting")
    parser.add_argument("--nick", help="use NICK in the room (with --room, or after your first /join)")
    parser.add_argument("--plain", action="store_true",
                        help="line mode instead of the full-screen view (automatic when not on a terminal)")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return plain.run(args.host, args.port, args.room, args.nick)
