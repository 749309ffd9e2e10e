"""Parlor chat: protocol, server and client cores, and their views."""
