#!/usr/bin/env python3
"""Run a Parlor chat server: python3 server.py [--host H] [--port P]."""
import sys

from chat.server.main import main

if __name__ == "__main__":
    sys.exit(main())
