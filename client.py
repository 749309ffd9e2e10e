#!/usr/bin/env python3
"""Chat on a Parlor server: python3 client.py [--host H] [--port P] [--plain] [--serve]."""
import sys

from chat.client.main import main

if __name__ == "__main__":
    sys.exit(main())
