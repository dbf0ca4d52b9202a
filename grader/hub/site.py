"""What one hub serves (users, folders, ports), and the environment of each user's server.

``bootstrap.py`` writes a :class:`Site` as ``site.json`` in the hub's state folder (readable by root
only); ``jupyterhub_config.py`` reads it; the tests read it to run commands as the hub's users.
"""
from __future__ import annotations

import json
import pwd
from dataclasses import asdict, dataclass, field
from pathlib import Path

HUB = Path(__file__).resolve().parent          # grader/hub/
REPO = HUB.parents[1]
COURSE_FOLDER = "course"                        # the instructor's nbgrader course folder, in their home
SITE_FILE = "site.json"


@dataclass
class Site:
    state: Path                 # root only: JupyterHub's database and cookie secret, the passwords, this file
    exchange: Path              # nbgrader's exchange root, shared by the class
    instructor: str
    students: list[str]
    group: str                  # every user of the class is a member
    course_id: str
    venv: Path                  # the course's environment: every server, kernel and nbgrader command runs from it
    proxy: Path                 # configurable-http-proxy
    prefix: str = ""            # of the users' and the group's names
    ip: str = "127.0.0.1"
    port: int = 8000
    hub_port: int = 8081
    proxy_api_port: int = 8001
    acl_paths: list[str] = field(default_factory=list)  # folders the class was let through (setfacl), undone by `down`

    @property
    def url(self) -> str:
        return f"http://{self.ip}:{self.port}"

    @property
    def users(self) -> list[str]:
        return [self.instructor, *self.students]

    @staticmethod
    def home(user: str) -> Path:
        return Path(pwd.getpwnam(user).pw_dir)

    @property
    def course_dir(self) -> Path:
        return self.home(self.instructor) / COURSE_FOLDER

    def role(self, user: str) -> str:
        return "instructor" if user == self.instructor else "student"

    def environment(self, user: str) -> dict[str, str]:
        """What a user's server (and any nbgrader command run as that user) needs on top of HOME/USER.

        JUPYTER_CONFIG_PATH selects the role's Jupyter configuration (grader/hub/instructor or
        grader/hub/student); the nbgrader configurations there read the exchange and the course
        folder from the two BACKPROP_HUB_* variables."""
        env = {"PATH": f"{self.venv / 'bin'}:/usr/local/bin:/usr/bin:/bin",
               "JUPYTER_CONFIG_PATH": str(HUB / self.role(user)),
               "BACKPROP_HUB_EXCHANGE": str(self.exchange)}
        if user == self.instructor:
            env["BACKPROP_HUB_COURSE_DIR"] = str(self.course_dir)
        return env

    def save(self) -> Path:
        path = Path(self.state) / SITE_FILE
        data = {k: (str(v) if isinstance(v, Path) else v) for k, v in asdict(self).items()}
        path.write_text(json.dumps(data, indent=2) + "\n")
        path.chmod(0o600)
        return path

    @classmethod
    def load(cls, path: Path) -> "Site":
        data = json.loads(Path(path).read_text())
        for key in ("state", "exchange", "venv", "proxy"):
            data[key] = Path(data[key])
        return cls(**data)
