"""The engine tests use the API suite's fixtures (tests/api/conftest.py:
the stack's URL, state directory, config, admin client, wa-sim) and add
what concerns the engine process itself: its pid and a restart that keeps
deploy/dev's pid file right."""
import importlib.util
import os
import signal
import subprocess
import time

import pytest

_spec = importlib.util.spec_from_file_location(
    "api_conftest", os.path.join(os.path.dirname(__file__), "..", "api", "conftest.py"))
api_conftest = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(api_conftest)
globals().update({k: v for k, v in vars(api_conftest).items() if not k.startswith("__")})


class Daemon:
    """A process deploy/dev started: its pid in STATE/run/<name>.pid, its
    log in STATE/log/<name>.log."""

    def __init__(self, state_dir, name):
        self.state = state_dir
        self.pidfile = os.path.join(state_dir, "run", name + ".pid")
        self.log = os.path.join(state_dir, "log", name + ".log")

    def pid(self):
        with open(self.pidfile, encoding="ascii") as f:
            return int(f.read().strip())

    def alive(self):
        try:
            os.kill(self.pid(), 0)
            return True
        except (OSError, ValueError):
            return False


class Engine(Daemon):
    """The stack's wa-akg-engine: deploy/dev started it and keeps its pid
    in STATE/run/engine.pid."""

    def __init__(self, state_dir):
        super().__init__(state_dir, "engine")

    def restart(self, sig=signal.SIGKILL, env_change=None):
        """Stop the engine with sig (SIGKILL: a crash) and start the same
        command line again, as deploy/dev would; env_change sets (or, with
        None, removes) environment variables of the new process, e.g. a
        WA_AKG_* config override."""
        pid = self.pid()
        with open("/proc/%d/cmdline" % pid, "rb") as f:
            argv = [a.decode() for a in f.read().split(b"\0") if a]
        with open("/proc/%d/environ" % pid, "rb") as f:
            env = dict(kv.decode().split("=", 1) for kv in f.read().split(b"\0") if b"=" in kv)
        for k, v in (env_change or {}).items():
            if v is None:
                env.pop(k, None)
            else:
                env[k] = v
        os.kill(pid, sig)
        deadline = time.monotonic() + 20
        while os.path.exists("/proc/%d" % pid):
            with open("/proc/%d/stat" % pid, encoding="ascii") as f:
                if f.read().split(") ")[-1].startswith("Z"):
                    break
            assert time.monotonic() < deadline, "engine %d did not stop" % pid
            time.sleep(0.05)
        with open(self.log, "ab") as log:
            p = subprocess.Popen(argv, stdout=log, stderr=log, stdin=subprocess.DEVNULL, env=env,
                                 start_new_session=True)
        with open(self.pidfile, "w", encoding="ascii") as f:
            f.write("%d\n" % p.pid)
        return p.pid

    def environ(self):
        """The running engine's environment."""
        with open("/proc/%d/environ" % self.pid(), "rb") as f:
            return dict(kv.decode().split("=", 1) for kv in f.read().split(b"\0") if b"=" in kv)

    def wait_registered(self, stack_config, timeout=20):
        """Until the running engine has registered (its pid in the engines
        row with a fresh heartbeat): it serves commands and takes sessions."""
        pid = self.pid()
        deadline = time.monotonic() + timeout
        while True:
            got = api_conftest.sql(stack_config, "SELECT COUNT(*) FROM engines WHERE pid = %d "
                      "AND heartbeat_at > NOW(3) - INTERVAL 10 SECOND" % pid).strip()
            if got == "1":
                return pid
            assert self.alive(), "the engine (pid %d) exited during its start" % pid
            assert time.monotonic() < deadline, "engine %d did not register" % pid
            time.sleep(0.1)


@pytest.fixture(scope="session")
def engine(state_dir, engine_running):
    assert engine_running, "the stack runs wa-akg-engine; its command socket must accept connections"
    e = Engine(state_dir)
    assert e.alive(), "no live engine pid in %s" % e.pidfile
    return e


@pytest.fixture
def phone_sim(sim):
    """wa-sim's admin API (walib.Sim)."""
    from walib import Sim
    return Sim(sim)
