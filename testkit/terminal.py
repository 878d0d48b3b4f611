"""A person's terminal for tests: a real 80x24 tmux pane, typed into and read off the screen."""

import shlex
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BIN = Path(sys.executable).parent


class Terminal:
    """One shell in a detached 80x24 tmux session on its own server, with its own HOME."""

    def __init__(self, folder: Path, **env: str) -> None:
        self.home = folder / "home"
        self.cwd = folder / "work"
        self.home.mkdir()
        self.cwd.mkdir()
        self.commands = 0
        self.tmux = ["tmux", "-L", f"terminal-{id(self)}", "-f", "/dev/null"]
        variables = {"HOME": self.home, "PATH": f"{BIN}:/usr/bin:/bin", "TERM": "xterm"}
        variables |= {"TMPDIR": tempfile.gettempdir()} | env  # TMPDIR: the tests', removed after
        assignments = " ".join(f"{k}={shlex.quote(str(v))}" for k, v in variables.items())
        shell = f"env -i {assignments} bash --norc"
        self.run("new-session", "-d", "-x", "80", "-y", "24", "-c", str(self.cwd), shell)

    def run(self, *args: str) -> str:
        return subprocess.run(
            [*self.tmux, *args], check=True, capture_output=True, text=True
        ).stdout

    def type(self, text: str) -> None:
        self.run("send-keys", "-l", text)
        self.run("send-keys", "Enter")

    def screen(self) -> str:
        """The 24 rows a person sees now, wrapped lines joined."""
        return self.run("capture-pane", "-p", "-J")

    def history(self) -> str:
        return self.run("capture-pane", "-p", "-J", "-S", "-500")

    def wait_for(self, text: str, timeout: float = 90) -> str:
        """Wait until `text` is in the history after the last prompt typed; return the screen."""
        deadline = time.monotonic() + timeout
        while text not in self.history():
            assert time.monotonic() < deadline, f"{text!r} never appeared:\n{self.history()}"
            time.sleep(0.2)
        return self.screen()

    def command(self, line: str) -> None:
        """Run a command line, then a numbered exit line that `finished` waits for."""
        self.commands += 1
        self.type(f'{line}; echo "[$(({self.commands}))] exit $?"')

    def finished(self, timeout: float = 90) -> str:
        """Wait for the last command to end; return the screen as it ended (without our echo)."""
        marker = f"\n[{self.commands}] exit "
        self.wait_for(marker, timeout)
        return self.screen().rsplit(marker, 1)[0]

    def output(self) -> str:
        """What the last command printed, as the terminal showed it, scrolled or not."""
        history = self.run("capture-pane", "-p", "-J", "-S", "-")
        typed = history.rsplit(f'echo "[$(({self.commands}))] exit $?"\n', 1)[1]
        return typed.split(f"[{self.commands}] exit ", 1)[0].rstrip()

    def answer(self, prompt: str, text: str = "") -> None:
        """Wait for a prompt to be on screen, then type the answer and Enter."""
        self.wait_for(prompt)
        self.type(text)

    def close(self) -> None:
        self.run("kill-server")
