"""`make hub`: the class's Unix users, the instructor's course folder and the exchange, then JupyterHub.

  python -m grader.hub.bootstrap up     set up (idempotent), start JupyterHub, print its URL and the logins
  python -m grader.hub.bootstrap setup  set up only, and print the logins
  python -m grader.hub.bootstrap down   remove what setup made: the users and their homes, the course's
                                        exchange folder, the ACL entries, the state folder

Runs as root: it creates users, PAM checks their passwords in /etc/shadow, and JupyterHub starts
each user's server as that user. Every user it creates carries the comment MARKER; an existing
user without it is never changed (choose another --prefix).
"""
from __future__ import annotations

import argparse
import grp
import json
import os
import pwd
import re
import secrets
import shutil
import signal
import socket
import stat
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

from .site import HUB, REPO, SITE_FILE, Site

MARKER = "backprop-from-scratch hub (make hub)"
DEFAULT_STATE = REPO / ".hub" / "state"
DEFAULT_PROXY = REPO / ".hub" / "node_modules" / ".bin" / "configurable-http-proxy"
# Not nbgrader's default (/usr/local/share/nbgrader/exchange): a folder of this hub's, given to every
# server's nbgrader as c.Exchange.root (the tests' hubs use folders of their own).
DEFAULT_EXCHANGE = Path("/srv/nbgrader-exchange")
CREDENTIALS = "credentials.json"
START_TIMEOUT = 60  # seconds; JupyterHub starts in a few seconds here


def run(*argv: str, **kw) -> subprocess.CompletedProcess:
    return subprocess.run(argv, check=True, stdout=subprocess.DEVNULL, **kw)


def course_id() -> str:
    """The course id, read from the course's own nbgrader configuration (grader/nbgrader_config.py)."""
    from traitlets.config.loader import PyFileConfigLoader

    config = PyFileConfigLoader("nbgrader_config.py", path=str(REPO / "grader")).load_config()
    return config.CourseDirectory.course_id


# ---------------------------------------------------------------------------------------------- users
def ensure_group(name: str) -> None:
    try:
        grp.getgrnam(name)
    except KeyError:
        run("groupadd", name)


def ensure_user(name: str, group: str) -> bool:
    """Create ``name`` (home 0700, member of ``group``) unless it exists; True when it was created."""
    try:
        entry = pwd.getpwnam(name)
    except KeyError:
        run("useradd", "--create-home", "--shell", "/bin/bash", "--comment", MARKER, "--groups", group, name)
        created = True
    else:
        if entry.pw_gecos != MARKER:
            raise SystemExit(f"the user {name} exists and was not made by `make hub`: it is left alone. "
                             "Pass another --prefix (HUB_ARGS=--prefix=...).")
        run("usermod", "--append", "--groups", group, name)
        created = False
    # Students must not read each other's work, nor the instructor's course folder.
    Site.home(name).chmod(0o700)
    return created


def set_passwords(site: Site, created: set[str]) -> dict[str, str]:
    """A random password for each new user (or one whose password was not kept); kept in the state folder."""
    path = site.state / CREDENTIALS
    known = json.loads(path.read_text()) if path.exists() else {}
    fresh = {u: secrets.token_urlsafe(9) for u in site.users if u in created or u not in known}
    if fresh:
        run("chpasswd", input="".join(f"{u}:{p}\n" for u, p in fresh.items()).encode())
    known = {u: known.get(u, "") for u in site.users} | fresh
    path.write_text(json.dumps(known, indent=2) + "\n")
    path.chmod(0o600)
    return known


# ------------------------------------------------------------------------------------------- folders
def let_class_through(site: Site) -> list[str]:
    """Traverse-only access (an ACL entry ``group:<class>:--x``) on each folder on the way to the course's
    environment that others may not traverse. Here that is /root: the venv's interpreter is pyenv's, under
    /root (0700). Nothing under those folders becomes listable, but a file there that is readable by all can
    be opened by a user of the class who knows its name."""
    interpreter = Path(os.path.realpath(site.venv / "bin" / "python"))
    unreadable = [p for p in (interpreter, site.venv / "pyvenv.cfg", REPO / "course_lib" / "__init__.py",
                              HUB / "site.py") if not p.stat().st_mode & stat.S_IROTH]
    if unreadable:
        raise SystemExit(f"the class's servers cannot read {unreadable[0]}: the checkout and its .venv must be "
                         "readable by all (were they made with umask 077?)")
    needed = [interpreter.parent, Path(sys.base_prefix), site.venv, REPO / "course_lib", HUB]
    blocked = sorted({str(d) for p in needed for d in (p, *p.parents)
                      if d.is_dir() and not d.stat().st_mode & stat.S_IXOTH})
    if blocked and shutil.which("setfacl") is None:
        raise SystemExit(f"the class's servers cannot reach {blocked[0]} (not traversable by others), and setfacl is "
                         "missing: install it with `apt-get install acl` (`make hub-deps` does).")
    for d in blocked:
        run("setfacl", "-m", f"g:{site.group}:--x", d)
    return blocked


def undo_let_through(site: Site) -> None:
    for d in site.acl_paths:
        if not Path(d).exists() or shutil.which("setfacl") is None:
            continue
        subprocess.run(["setfacl", "-x", f"g:{site.group}", d], stderr=subprocess.DEVNULL)
        entries = subprocess.run(["getfacl", "-pc", d], capture_output=True, text=True).stdout.split()
        named = [e for e in entries if e.startswith(("user:", "group:")) and e.split(":")[1]]
        if not named and not any(e.startswith("default:") for e in entries):
            run("setfacl", "-b", d)  # only the mask is left: back to plain permission bits


def course_folder(site: Site) -> Path:
    """The instructor's nbgrader course folder (0700): source/ mirrors the checkout's solutions/."""
    course = site.course_dir
    solutions = REPO / "solutions"
    for assignment in sorted(p for p in solutions.iterdir() if p.is_dir() and not p.name.startswith(".")):
        shutil.copytree(assignment, course / "source" / assignment.name, dirs_exist_ok=True,
                        ignore=shutil.ignore_patterns(".ipynb_checkpoints", "__pycache__"))
    run("chown", "-R", f"{site.instructor}:", str(course))
    course.chmod(0o700)
    return course


def exchange(site: Site) -> Path:
    """nbgrader's exchange with this course's folders made in advance, owned by the instructor, with the
    modes nbgrader itself would give them (release_assignment.py, release_feedback.py)."""
    root = site.exchange
    root.mkdir(parents=True, exist_ok=True)
    os.chown(root, 0, 0)
    # nbgrader requires an exchange root every user can write to (it checks for 0777); the sticky bit (which
    # it does not look at) keeps anyone from renaming or deleting another user's folder in it.
    root.chmod(0o1777)
    owner = pwd.getpwnam(site.instructor)
    course = root / site.course_id
    for path, mode in [(course, 0o755),                # everyone reads
                       (course / "outbound", 0o755),   # released assignments
                       (course / "inbound", 0o2733),   # submissions: students write, cannot list
                       (course / "feedback", 0o711)]:  # feedback pages, found only by their hash
        path.mkdir(exist_ok=True)
        os.chown(path, owner.pw_uid, owner.pw_gid)
        path.chmod(mode)
    return root


def setup(args) -> tuple[Site, dict[str, str]]:
    if os.geteuid() != 0:
        raise SystemExit("make hub must run as root: it creates the class's Unix users, and JupyterHub starts each "
                         "user's server as that user (try `sudo make hub`).")
    os.umask(0o022)
    prefix = args.prefix
    site = Site(prefix=prefix, state=Path(args.state).resolve(), exchange=Path(args.exchange).resolve(),
                instructor=f"{prefix}instructor",
                students=[f"{prefix}student{i:02d}" for i in range(1, args.students + 1)],
                group=f"{prefix}backprop-class", course_id=course_id(), venv=Path(sys.prefix),
                proxy=Path(args.proxy).resolve(), ip=args.ip, port=args.port, hub_port=args.hub_port,
                proxy_api_port=args.proxy_api_port)
    site.state.mkdir(parents=True, exist_ok=True)
    site.state.chmod(0o700)
    ensure_group(site.group)
    created = {u for u in site.users if ensure_user(u, site.group)}
    passwords = set_passwords(site, created)
    site.acl_paths = let_class_through(site)
    course_folder(site)
    exchange(site)
    site.save()
    return site, passwords


# ------------------------------------------------------------------------------------------ the hub
_DIRECT = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def wait_until_up(site: Site, proc: subprocess.Popen) -> float:
    """Seconds until the hub answers on its own port, then through the proxy (probing the proxy first
    only makes it log errors while the hub's route is not there yet)."""
    start = time.monotonic()
    for url in (f"http://127.0.0.1:{site.hub_port}/hub/api/", f"{site.url}/hub/api/"):
        while True:
            if proc.poll() is not None:
                raise SystemExit(f"JupyterHub exited with {proc.returncode} before it was ready (its log is above)")
            if time.monotonic() - start > START_TIMEOUT:
                proc.terminate()
                raise SystemExit(f"JupyterHub did not answer at {url} within {START_TIMEOUT} s")
            try:
                with _DIRECT.open(url, timeout=2) as response:
                    if response.status == 200:
                        break
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                pass
            time.sleep(0.2)
    return time.monotonic() - start


def banner(site: Site, passwords: dict[str, str], headline: str) -> str:
    width = max(map(len, site.users))
    lines = [headline,
             f"  instructor  {site.instructor:<{width}}  password {passwords[site.instructor]}"
             "   (formgrader: Nbgrader > Formgrader in JupyterLab)"]
    lines += [f"  student     {s:<{width}}  password {passwords[s]}" for s in site.students]
    lines += [f"Course folder {site.course_dir} (the instructor's only); exchange {site.exchange}.",
              "Ctrl-C stops the hub and every server; `make hub-down` removes the demo's users and folders."]
    return "\n".join(lines)


def ports_free(ip: str, port: int, others: list[int]) -> None:
    for host, p in [(ip, port)] + [("127.0.0.1", o) for o in others]:
        with socket.socket() as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                probe.bind((host, p))
            except OSError:
                raise SystemExit(f"port {p} is taken (another hub?): choose others with HUB_ARGS=\"--port=... "
                                 "--hub-port=... --proxy-api-port=...\"") from None


def up(args) -> int:
    ports_free(args.ip, args.port, [args.hub_port, args.proxy_api_port])
    site, passwords = setup(args)
    if not os.access(site.proxy, os.X_OK):
        raise SystemExit(f"JupyterHub's proxy is missing at {site.proxy}: run `make hub-deps` (npm ci into .hub/)")
    env = {**os.environ, "BACKPROP_HUB_SITE": str(site.state / SITE_FILE)}
    proc = subprocess.Popen([str(site.venv / "bin" / "jupyterhub"), "-f", str(HUB / "jupyterhub_config.py")],
                            cwd=site.state, env=env)
    # Ctrl-C or a SIGTERM stops JupyterHub, which stops the proxy and every user's server.
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda s, f: proc.send_signal(signal.SIGTERM))
    seconds = wait_until_up(site, proc)
    shown = f"http://{socket.getfqdn()}:{site.port}" if site.ip in ("0.0.0.0", "") else site.url
    headline = f"The course's JupyterHub is up at {shown}/ (started in {seconds:.1f} s). Log in as:"
    print("\n" + banner(site, passwords, headline) + "\n", flush=True)
    return proc.wait()


def down(args) -> int:
    path = Path(args.state).resolve() / SITE_FILE
    if not path.exists():
        print(f"nothing to remove: no hub was set up with the state folder {path.parent}")
        return 0
    site = Site.load(path)
    # Also the students of an earlier, larger class set up with the same prefix.
    former = re.compile(re.escape(site.prefix) + r"(instructor|student\d+)$")
    ours = [e for e in pwd.getpwall() if e.pw_gecos == MARKER and (e.pw_name in site.users or former.match(e.pw_name))]
    _stop_processes_of({e.pw_uid for e in ours})
    for entry in ours:
        subprocess.run(["userdel", "--remove", entry.pw_name], check=True, stderr=subprocess.DEVNULL)
    undo_let_through(site)
    try:
        if not grp.getgrnam(site.group).gr_mem:
            run("groupdel", site.group)
    except KeyError:
        pass
    shutil.rmtree(site.exchange / site.course_id, ignore_errors=True)
    try:
        site.exchange.rmdir()  # only when no other course uses it
    except OSError:
        pass
    shutil.rmtree(site.state, ignore_errors=True)
    print(f"removed {len(ours)} users ({', '.join(e.pw_name for e in ours)}), the exchange of {site.course_id} "
          f"and {site.state}")
    return 0


def _stop_processes_of(uids: set[int]) -> None:
    """Servers and kernels the hub left running as the demo's users (userdel refuses while they run)."""
    import psutil

    procs = [p for p in psutil.process_iter(["uids"]) if p.info["uids"] and p.info["uids"].real in uids]
    for p in procs:
        try:
            p.terminate()
        except psutil.NoSuchProcess:
            pass
    _, alive = psutil.wait_procs(procs, timeout=10)
    for p in alive:
        try:
            p.kill()
        except psutil.NoSuchProcess:
            pass
    psutil.wait_procs(alive, timeout=5)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m grader.hub.bootstrap", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("command", choices=["up", "setup", "down"])
    parser.add_argument("--prefix", default="", help="prefix of the users' and the group's names (default none)")
    parser.add_argument("--students", type=int, default=3, help="how many students (default 3)")
    parser.add_argument("--state", default=str(DEFAULT_STATE), help="the hub's root-only state folder (default .hub/state)")
    parser.add_argument("--exchange", default=str(DEFAULT_EXCHANGE), help=f"nbgrader's exchange (default {DEFAULT_EXCHANGE})")
    parser.add_argument("--proxy", default=str(DEFAULT_PROXY), help="configurable-http-proxy (default .hub/node_modules/.bin/)")
    parser.add_argument("--ip", default="127.0.0.1", help="where the hub listens (default 127.0.0.1; 0.0.0.0 for a network)")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--hub-port", type=int, default=8081, help="JupyterHub's own API, for the servers")
    parser.add_argument("--proxy-api-port", type=int, default=8001)
    args = parser.parse_args(argv)
    if args.command == "up":
        return up(args)
    if args.command == "setup":
        site, passwords = setup(args)
        print(banner(site, passwords, f"Set up for a hub at {site.url}/ (`make hub` starts it). The logins:"))
        return 0
    return down(args)


if __name__ == "__main__":
    sys.exit(main())
