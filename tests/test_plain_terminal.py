"""Line mode on a terminal and from a file: only a person typing is offered /cancel.
"""
from __future__ import annotations

from conftest import said
from chat import protocol as p
from chat.server.limits import Limits
from test_plain_client import port_of, run_client


def test_plain_from_a_file_is_not_offered_cancel(start_server, connect, tmp_path):
    server = start_server(Limits(max_rate=100, burst=16, max_queue=50))
    watcher = connect(server)
    watcher.enter("general", "watcher")
    script = tmp_path / "lines.txt"
    script.write_text("".join(f"line {i}\n" for i in range(40)))
    with script.open("rb") as stdin:
        done = run_client(port_of(server), "--room", "general", "--nick", "fil",
                          "--pace", "12,80", stdin=stdin)
    assert done.returncode == 0
    out = done.stdout.decode()
    assert "\nSending 40 lines at 80 a second, under the server's flood limit.\n" in out
    assert "/cancel" not in out
    assert said(watcher.expect(lambda m: isinstance(m, p.Chat) and m.text == "line 39"))[1] == "fil"
