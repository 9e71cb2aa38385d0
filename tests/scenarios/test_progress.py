"""Progress bars appear on a terminal and never in logs (pipes/files)."""
import fcntl
import os
import pty
import struct
import termios
import subprocess
import sys

import pytest

pytest.importorskip("tqdm", reason="tqdm (extras viz/dev) is not installed")
ARGS = [sys.executable, "-m", "spikeattn.cli", "run", "wta-routing", "--batch", "8", "--no-figures",
        "--hardware", "none"]


def test_no_progress_bar_in_logs(tmp_path):
    r = subprocess.run(ARGS + ["--out", str(tmp_path)], capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr
    assert "\r" not in r.stderr and "it/s" not in r.stderr and "%|" not in r.stderr


def test_progress_bar_on_a_terminal(tmp_path):
    pid, fd = pty.fork()
    if pid == 0:                                   # child: stdout and stderr are the terminal, 120 columns
        fcntl.ioctl(1, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 120, 0, 0))
        os.execv(sys.executable, ARGS + ["--out", str(tmp_path)])
    chunks = []
    while True:
        try:
            data = os.read(fd, 4096)
        except OSError:
            break
        if not data:
            break
        chunks.append(data)
    _, status = os.waitpid(pid, 0)
    text = b"".join(chunks).decode(errors="replace")
    assert os.waitstatus_to_exitcode(status) == 0, text[-2000:]
    assert "%|" in text and "contrast sweep" in text        # tqdm bars with percent / ETA fields
    assert "<" in text.split("contrast sweep", 1)[1]       # the ETA field "elapsed<remaining"
