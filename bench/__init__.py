"""Benchmarks: `python3 bench/fanout.py` (Parlor vs ngircd), `bench/bot_speed.py`.

Shells around real servers and sockets; nothing in chat/ or game/ imports this.
"""
