"""Who may attach: a random token per server, kept in a connection file only the user can read.

Like Jupyter's kernel connection files, each live server writes ``live-<pid>-<n>.json`` into
the user's runtime directory (``platformdirs.user_runtime_dir("cinema")``, mode 0700, or
``$CINEMA_RUNTIME_DIR``), mode 0600, holding where it listens and its token. ``cinema attach``
reads these files to find the user's own sessions and their tokens; other users cannot read
them. The file is removed when the server closes; files of processes that died are cleaned up
when listed.
"""

from __future__ import annotations

import contextlib
import hmac
import json
import os
import secrets
import stat
import tempfile
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from recorder.live import sockfile

__all__ = [
    "ENV_RUNTIME_DIR",
    "ConnectionInfo",
    "check_token",
    "find_session",
    "list_sessions",
    "new_token",
    "read_token_file",
    "runtime_dir",
    "write_connection_file",
]

ENV_RUNTIME_DIR = "CINEMA_RUNTIME_DIR"
_PREFIX = "live-"


def new_token() -> str:
    """A fresh random token (256 bits, URL-safe text)."""
    return secrets.token_urlsafe(32)


def check_token(expected: str, given: Any) -> bool:
    """Whether ``given`` is the token, compared in constant time."""
    if not isinstance(given, str):
        return False
    return hmac.compare_digest(expected.encode(), given.encode())


def runtime_dir() -> Path:
    """The folder of connection files and Unix sockets (created, mode 0700)."""
    override = os.environ.get(ENV_RUNTIME_DIR, "").strip()
    candidates: list[Path] = []
    if override:
        candidates.append(Path(override))
    else:
        try:
            import platformdirs

            with warnings.catch_warnings():  # "XDG_RUNTIME_DIR is not set": its fallback is fine
                warnings.simplefilter("ignore")
                candidates.append(Path(platformdirs.user_runtime_dir("cinema", appauthor=False)))
        except ImportError:  # the recorder needs only msgpack: fall back on XDG or /tmp
            xdg = os.environ.get("XDG_RUNTIME_DIR")
            if xdg:
                candidates.append(Path(xdg) / "cinema")
        candidates.append(Path(tempfile.gettempdir()) / f"cinema-{os.getuid()}")
    last: OSError | None = None
    for folder in candidates:
        try:
            folder.mkdir(mode=0o700, parents=True, exist_ok=True)
            st = folder.stat()
            if st.st_uid != os.getuid():
                raise PermissionError(f"{folder} belongs to another user")
            if stat.S_IMODE(st.st_mode) & 0o077:
                os.chmod(folder, 0o700)
            return folder
        except OSError as exc:
            last = exc
    raise OSError(f"no usable runtime directory for live sessions ({last})")


@dataclass(frozen=True, slots=True)
class ConnectionInfo:
    """What a connection file says about one live server."""

    transport: str  # "tcp" or "unix"
    token: str
    pid: int
    host: str = ""
    port: int = 0
    path: str = ""
    program: str = ""
    started_ns: int = 0
    session_file: str | None = None
    file: str = ""  # the connection file itself
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def address(self) -> str:
        """``HOST:PORT`` or ``unix:PATH``."""
        return f"unix:{self.path}" if self.transport == "unix" else f"{self.host}:{self.port}"

    def as_json(self) -> dict[str, Any]:
        return {
            "transport": self.transport,
            "host": self.host,
            "port": self.port,
            "path": self.path,
            "token": self.token,
            "pid": self.pid,
            "program": self.program,
            "started_ns": self.started_ns,
            "session_file": self.session_file,
            **self.extra,
        }

    @classmethod
    def from_json(cls, data: Any, file: str = "") -> ConnectionInfo:
        """Parse a connection file's map.

        Raises:
            ValueError: not a connection file.
        """
        if not isinstance(data, dict) or not isinstance(data.get("token"), str):
            raise ValueError("not a Cinema connection file (no token)")
        transport = data.get("transport")
        if transport not in ("tcp", "unix"):
            raise ValueError(f"unknown transport {transport!r}")
        port = data.get("port", 0)
        pid = data.get("pid", 0)
        session_file = data.get("session_file")
        return cls(
            transport=str(transport),
            token=data["token"],
            pid=pid if isinstance(pid, int) else 0,
            host=str(data.get("host") or ""),
            port=port if isinstance(port, int) else 0,
            path=str(data.get("path") or ""),
            program=str(data.get("program") or ""),
            started_ns=int(data.get("started_ns") or 0),
            session_file=session_file if isinstance(session_file, str) else None,
            file=file,
        )


def write_connection_file(info: ConnectionInfo) -> Path:
    """Write ``info`` into a new connection file (mode 0600); returns its path."""
    folder = runtime_dir()
    for n in range(1000):
        path = folder / f"{_PREFIX}{info.pid}-{n}.json"
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            continue
        with os.fdopen(fd, "w") as f:
            json.dump(info.as_json(), f)
        return path
    raise OSError(f"too many connection files for process {info.pid} in {folder}")


def _alive(pid: int) -> bool:
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process: alive, but not ours
        return True
    return True


def list_sessions(clean: bool = True) -> list[ConnectionInfo]:
    """The live servers of this user on this machine, newest first.

    Args:
        clean: remove connection files whose process is gone.
    """
    try:
        folder = runtime_dir()
    except OSError:
        return []
    found: list[ConnectionInfo] = []
    for path in folder.glob(f"{_PREFIX}*.json"):
        try:
            with open(path) as f:
                info = ConnectionInfo.from_json(json.load(f), str(path))
        except (OSError, ValueError):
            continue
        if not _alive(info.pid):
            if clean:
                with contextlib.suppress(OSError):
                    path.unlink()
                if info.transport == "unix" and info.path:
                    # only a socket nobody listens on: the path comes from a file
                    sockfile.remove_stale_socket(info.path)
            continue
        found.append(info)
    found.sort(key=lambda i: i.started_ns, reverse=True)
    return found


def find_session(
    host: str | None, port: int | None, path: str | None = None
) -> ConnectionInfo | None:
    """The local session listening at ``host:port`` (any host when ``None``) or on the Unix
    socket ``path``; with neither, the newest session."""
    sessions = list_sessions()
    for info in sessions:
        if path is not None:
            if info.transport == "unix" and os.path.realpath(info.path) == os.path.realpath(path):
                return info
            continue
        if port is None:
            return info
        if info.transport == "tcp" and info.port == port and host in (None, info.host):
            return info
    return None


#: A token file holds one token; a connection file a few hundred bytes.
_MAX_TOKEN_FILE = 64 << 10


def read_token_file(path: str | os.PathLike[str]) -> str:
    """The token in ``path``: a connection file (JSON with ``token``) or a text file holding
    only the token.

    Raises:
        OSError: the file cannot be read.
        ValueError: it holds no token.
    """
    # O_NONBLOCK: a FIFO must not wait for a writer before its type is checked
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    with os.fdopen(fd, "rb") as f:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise ValueError(f"{path}: not a regular file (a token file or a connection file)")
        raw = f.read(_MAX_TOKEN_FILE + 1)
    if len(raw) > _MAX_TOKEN_FILE:
        raise ValueError(f"{path}: too big for a token or connection file")
    text = raw.decode("utf-8", errors="replace").strip()
    if text.startswith("{"):
        try:
            data = json.loads(text)
        except ValueError:
            raise ValueError(f"{path}: not valid JSON") from None
        token = data.get("token") if isinstance(data, dict) else None
        if not isinstance(token, str) or not token:
            raise ValueError(f"{path}: no token in this connection file")
        return token
    if not text or len(text.split()) != 1:
        raise ValueError(f"{path}: a token file holds the token alone, on one line")
    return text
