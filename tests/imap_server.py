"""A real IMAP server for tests: Debian's dovecot on 127.0.0.1, on a free port, in a temp dir.

    with dovecot_server(users={"support": "secret"}) as server:
        server.append("support", raw_bytes)          # IMAP APPEND through imapclient
        Mailbox(imap_host=server.host, imap_port=server.port, imap_ssl=False, ...)

Everything dovecot writes (config, sockets, state, log, maildirs) lives under one temp dir that
is removed afterwards. `make sysdeps` installs dovecot-imapd; without the binary,
`DovecotUnavailable` is raised so the caller can skip.
"""

from __future__ import annotations

import contextlib
import grp
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from imapclient import IMAPClient

from tests.worker import free_port

DEFAULT_USERS = {"support": "support-pass", "other": "other-pass"}


class DovecotUnavailable(RuntimeError):
    """The dovecot binary is not installed here."""


def dovecot_binary() -> str | None:
    return shutil.which("dovecot") or next(
        (p for p in ("/usr/sbin/dovecot", "/usr/local/sbin/dovecot") if os.access(p, os.X_OK)),
        None,
    )


@dataclass
class ImapServer:
    host: str
    port: int
    root: Path
    users: dict[str, str] = field(default_factory=dict)

    @property
    def log(self) -> str:
        path = self.root / "dovecot.log"
        return path.read_text(errors="replace") if path.exists() else ""

    @contextmanager
    def client(self, user: str) -> Iterator[IMAPClient]:
        """A logged-in imapclient session as `user`."""
        client = IMAPClient(self.host, port=self.port, ssl=False, timeout=10)
        try:
            client.login(user, self.users[user])
            yield client
        finally:
            with contextlib.suppress(Exception):  # the connection may already be gone
                client.logout()

    def append(
        self, user: str, raw: bytes, *, folder: str = "INBOX", flags: Iterable[bytes] = ()
    ) -> None:
        with self.client(user) as client:
            if not client.folder_exists(folder):
                client.create_folder(folder)
            client.append(folder, raw, flags=tuple(flags))

    def flags(self, user: str, folder: str = "INBOX") -> dict[int, tuple[bytes, ...]]:
        """UID -> flags of every message in `folder` (read-only, changes nothing)."""
        with self.client(user) as client:
            client.select_folder(folder, readonly=True)
            uids = client.search(["ALL"])
            found = client.fetch(uids, ["FLAGS"]) if uids else {}
            return {uid: data[b"FLAGS"] for uid, data in found.items()}

    def uidvalidity(self, user: str, folder: str = "INBOX") -> int:
        with self.client(user) as client:
            return client.folder_status(folder, [b"UIDVALIDITY"])[b"UIDVALIDITY"]


@dataclass
class _Accounts:
    mail_uid: int  # owns the maildirs; dovecot refuses mail access as root
    mail_gid: int
    internal: str  # default_internal_user (auth, stats ...)
    internal_group: str
    login: str  # default_login_user (imap-login)


def _accounts() -> _Accounts:
    """As root: mail as Debian's `mail` user (else `nobody`), helper processes as the package's
    `dovecot` / `dovenull`. As anyone else: everything as ourselves."""
    if os.getuid() != 0:
        me = pwd.getpwuid(os.getuid())
        group = grp.getgrgid(os.getgid()).gr_name
        return _Accounts(me.pw_uid, me.pw_gid, me.pw_name, group, me.pw_name)

    def account(*names: str) -> pwd.struct_passwd:
        for name in names:
            try:
                return pwd.getpwnam(name)
            except KeyError:
                continue
        raise DovecotUnavailable(f"none of the users {names} exists to run dovecot as")

    mail = account("mail", "nobody")
    internal = account("dovecot", "nobody")
    login = account("dovenull", "nobody")
    group = grp.getgrgid(internal.pw_gid).gr_name
    return _Accounts(mail.pw_uid, mail.pw_gid, internal.pw_name, group, login.pw_name)


def write_config(root: Path, port: int, users: dict[str, str]) -> Path:
    accounts = _accounts()
    for sub in ("run", "state", "mail", "home"):
        (root / sub).mkdir(parents=True, exist_ok=True)
    for sub in ("mail", "home"):
        os.chown(root / sub, accounts.mail_uid, accounts.mail_gid)
    # passwd-file lines are user:{PLAIN}password:uid:gid:gecos:home:shell; uid, gid and home
    # are left empty here and set for everyone by mail_uid, mail_gid and mail_home below.
    (root / "users").write_text(
        "".join(f"{name}:{{PLAIN}}{password}:::::\n" for name, password in users.items())
    )
    conf = root / "dovecot.conf"
    conf.write_text(f"""\
# Written by tests/imap_server.py: a throw-away dovecot for one test.
protocols = imap
listen = 127.0.0.1
base_dir = {root}/run
state_dir = {root}/state
log_path = {root}/dovecot.log
info_log_path = {root}/dovecot.log
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
auth_failure_delay = 0
first_valid_uid = {accounts.mail_uid}
first_valid_gid = {accounts.mail_gid}
default_internal_user = {accounts.internal}
default_internal_group = {accounts.internal_group}
default_login_user = {accounts.login}
mail_uid = {accounts.mail_uid}
mail_gid = {accounts.mail_gid}
mail_home = {root}/home/%u
mail_location = maildir:{root}/mail/%u
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {root}/users
}}
userdb {{
  driver = passwd-file
  args = username_format=%u {root}/users
}}
service imap-login {{
  inet_listener imap {{
    address = 127.0.0.1
    port = {port}
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
""")
    return conf


def _wait_for_port(port: int, process: subprocess.Popen, root: Path, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"dovecot exited with {process.returncode}:\n{_log(root)}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5) as probe:
                if probe.recv(100).startswith(b"* OK"):
                    return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"dovecot did not listen on {port} within {timeout} s:\n{_log(root)}")


def _log(root: Path) -> str:
    path = root / "dovecot.log"
    return path.read_text(errors="replace") if path.exists() else "(no log)"


@contextmanager
def dovecot_server(users: dict[str, str] | None = None) -> Iterator[ImapServer]:
    """Start `dovecot -F -c <temp conf>`, wait for its greeting, yield the connection facts,
    stop it and delete its files."""
    binary = dovecot_binary()
    if binary is None:
        raise DovecotUnavailable(
            "dovecot is not installed (make sysdeps installs dovecot-imapd; or "
            "apt-get install dovecot-imapd)"
        )
    users = dict(users or DEFAULT_USERS)
    # Short path (unix socket names are limited to ~108 bytes) that the unprivileged
    # login/auth processes may traverse.
    root = Path(tempfile.mkdtemp(prefix="dovecot-"))
    root.chmod(0o755)
    process = None
    try:
        for attempt in range(3):  # the free port may be taken before dovecot binds it
            port = free_port()
            conf = write_config(root, port, users)
            with open(root / "stderr.log", "w") as stderr:
                process = subprocess.Popen(
                    [binary, "-F", "-c", str(conf)], stdout=subprocess.DEVNULL, stderr=stderr
                )
            try:
                _wait_for_port(port, process, root, timeout=20)
                break
            except RuntimeError as error:
                _stop(process)
                output = (root / "stderr.log").read_text(errors="replace")
                if attempt == 2 or "in use" not in f"{error}{output}":
                    raise RuntimeError(f"{error}\nstderr:\n{output}") from None
        yield ImapServer(host="127.0.0.1", port=port, root=root, users=users)
    finally:
        if process is not None:
            _stop(process)
        shutil.rmtree(root, ignore_errors=True)


def _stop(process: subprocess.Popen) -> None:
    if process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=5)
