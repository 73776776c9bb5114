#!/usr/bin/python3
"""bench/engine_bench.py: the measurements of bench/engine.sh against a running
dev stack (deploy/dev), given by its state directory.

  memory     engine RSS / PSS with 0 sessions, with N sessions waiting for a QR
             scan, with the N paired and idle, and in a fresh engine process
             that took the N up again after a SIGKILL
  reconnect  SIGKILL the engine, start the same command line again, time until
             all N are CONNECTED again (connected_at after the kill)
  inbound    phone B sends M texts to phone A (paired to one session) through
             wa-sim's admin API; time until all are stored and answered
  outbound   M texts through POST /api/messages/{id}/{jid}/send from C clients;
             throughput and latency

Only the Python standard library and requests (Debian's python3-requests).
The summary goes to stdout; progress to stderr."""
import argparse
import configparser
import json
import os
import random
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import requests

CLK_TCK = os.sysconf("SC_CLK_TCK")


def log(msg):
    print("[%s] %s" % (time.strftime("%H:%M:%S"), msg), file=sys.stderr, flush=True)


def out(msg=""):
    print(msg, flush=True)


# ---- the stack ---------------------------------------------------------------

class Stack:
    def __init__(self, state):
        self.state = os.path.abspath(state)
        cp = configparser.ConfigParser(interpolation=None, strict=False)
        with open(os.path.join(self.state, "wa-akg.conf"), encoding="utf-8") as f:
            cp.read_string(f.read())
        self.conf = cp
        listen = cp.get("http", "listen", fallback="127.0.0.1:8080")
        self.base = "http://" + listen
        with open(os.path.join(self.state, "bootstrap.json"), encoding="utf-8") as f:
            self.key = json.load(f)["apiKey"]
        with open(os.path.join(self.state, "sim.json"), encoding="utf-8") as f:
            self.sim = json.load(f)["admin_url"]
        self.dbsock = cp.get("db", "socket", fallback=os.path.join(self.state, "mysql", "mysqld.sock"))
        self.dbname = cp.get("db", "name", fallback="wa_akg")
        self.pidfile = os.path.join(self.state, "run", "engine.pid")
        self.englog = os.path.join(self.state, "log", "engine.log")
        self._tl = threading.local()

    # one requests.Session per thread (a Session is not meant to be shared)
    def http(self):
        s = getattr(self._tl, "s", None)
        if s is None:
            s = requests.Session()
            s.headers["X-API-Key"] = self.key
            self._tl.s = s
        return s

    def api(self, method, path, **kw):
        kw.setdefault("timeout", 60)
        return self.http().request(method, self.base + path, **kw)

    def admin(self, method, path, body=None, timeout=30):
        return self.http().request(method, self.sim + path, json=body, timeout=timeout)

    def sql(self, q):
        # the statement on stdin: with 10,000 sessions an IN list is longer
        # than an argument may be
        r = subprocess.run(["mariadb", "--no-defaults", "-S", self.dbsock, "-uroot", "-N", "-B", self.dbname],
                           input="SET time_zone = '+00:00'; " + q + ";\n", capture_output=True, text=True,
                           timeout=120)
        if r.returncode != 0:
            raise RuntimeError("mariadb: %s" % r.stderr.strip())
        return [line.split("\t") for line in r.stdout.splitlines() if line]

    def sql1(self, q):
        rows = self.sql(q)
        return rows[0][0] if rows else None

    def pid_of(self, name):
        try:
            with open(os.path.join(self.state, "run", name + ".pid"), encoding="ascii") as f:
                pid = int(f.read().strip())
            os.kill(pid, 0)
            return pid
        except (OSError, ValueError):
            return None

    def engine_pid(self):
        with open(self.pidfile, encoding="ascii") as f:
            return int(f.read().strip())

    def engine_ready(self, proc, timeout=30):
        """Wait until the (new) engine accepts on its command port."""
        url = self.conf.get("engine", "command_url", fallback="tcp://127.0.0.1:7701")
        host, _, port = url[len("tcp://"):].rpartition(":")
        deadline = time.monotonic() + timeout
        while True:
            if proc.poll() is not None:
                raise RuntimeError("the restarted engine exited (rc %s); see %s" % (proc.returncode, self.englog))
            try:
                socket.create_connection((host, int(port)), timeout=1).close()
                return
            except OSError:
                if time.monotonic() > deadline:
                    raise RuntimeError("the restarted engine does not listen on %s" % url)
                time.sleep(0.05)


# ---- /proc -------------------------------------------------------------------

def mem(pid):
    """VmRSS, RssAnon, RssFile, VmHWM, Threads from status; Pss, Pss_Anon
    from smaps_rollup; open fds. Sizes in KiB."""
    m = {}
    with open("/proc/%d/status" % pid, encoding="ascii") as f:
        for line in f:
            k, _, v = line.partition(":")
            if k in ("VmRSS", "RssAnon", "RssFile", "VmHWM", "Threads"):
                m[k] = int(v.split()[0])
    try:
        with open("/proc/%d/smaps_rollup" % pid, encoding="ascii") as f:
            for line in f:
                k, _, v = line.partition(":")
                if k in ("Pss", "Pss_Anon"):
                    m[k] = int(v.split()[0])
    except OSError:
        pass
    try:
        m["fds"] = len(os.listdir("/proc/%d/fd" % pid))
    except OSError:
        pass
    return m


def mem_settled(pid, samples=3, every=1.0):
    """The median of a few samples a second apart (the loop's timers and the
    database threads allocate and free as they go)."""
    ms = []
    for i in range(samples):
        if i:
            time.sleep(every)
        ms.append(mem(pid))
    return {k: int(statistics.median(m.get(k, 0) for m in ms)) for k in ms[-1]}


def cpu_s(pid, sys_only=False):
    """utime + stime (or stime alone) of pid and its live children (fcgi,
    nginx workers) in s."""
    def one(p):
        try:
            with open("/proc/%d/stat" % p, encoding="ascii") as f:
                st = f.read().rsplit(") ", 1)[1].split()
            return (int(st[12]) if sys_only else int(st[11]) + int(st[12])) / CLK_TCK
        except (OSError, IndexError):
            return 0.0
    if not pid:
        return 0.0
    tot = one(pid)
    try:
        for t in os.listdir("/proc/%d/task" % pid):
            with open("/proc/%d/task/%s/children" % (pid, t), encoding="ascii") as f:
                for c in f.read().split():
                    tot += one(int(c))
    except OSError:
        pass
    return tot


class Cpu:
    """CPU seconds each process of the stack spent over a phase."""
    NAMES = ("engine", "mariadb", "sim", "fcgi", "nginx")

    def __init__(self, st):
        self.st = st
        self.pids = {n: st.pid_of(n) for n in self.NAMES}
        self.t0 = time.monotonic()
        self.c0 = {n: cpu_s(p) for n, p in self.pids.items()}
        self.s0 = {n: cpu_s(self.pids[n], True) for n in ("engine", "sim")}
        self.db0 = db_status(st)
        self.p0 = time.process_time()  # this script's own threads (the load generator)
        self.load0 = os.getloadavg()[0]

    def done(self):
        wall = time.monotonic() - self.t0
        d = {n: cpu_s(p) - self.c0[n] for n, p in self.pids.items()}
        d["client"] = time.process_time() - self.p0
        for n in ("engine", "sim"):
            d[n + "_sys"] = cpu_s(self.pids[n], True) - self.s0[n]
        return wall, d

    def line(self, per=None, unit="op"):
        wall, d = self.done()
        parts = []
        for n in self.NAMES + ("client",):
            sys_part = ""
            if n + "_sys" in d and d[n] > 0:
                sys_part = " (%.0f%% sys)" % (100 * d[n + "_sys"] / d[n])
            if per:
                parts.append("%s %.2f ms/%s%s" % (n, 1000 * d[n] / per, unit, sys_part))
            else:
                parts.append("%s %.2f s%s" % (n, d[n], sys_part))
        line = "cpu (%s over %.1f s wall, load %.1f): %s" % (
            "per " + unit if per else "total", wall, self.load0, ", ".join(parts))
        if per and self.db0:
            db1 = db_status(self.st)
            line += "\n  mariadb per %s: %s" % (unit, ", ".join(
                "%s %.2f" % (k, (db1.get(k, 0) - self.db0.get(k, 0)) / per) for k in DB_COUNTERS))
        return line


DB_COUNTERS = ("Questions", "Com_stmt_prepare", "Com_commit", "Handler_write", "Handler_update", "Innodb_log_writes",
               "Innodb_data_fsyncs")


def db_status(st):
    """Server-wide counters (every client; this script's own polling adds a
    few Questions)."""
    try:
        rows = st.sql("SHOW GLOBAL STATUS WHERE Variable_name IN (%s)" % ",".join("'%s'" % k for k in DB_COUNTERS))
        return {k: int(v) for k, v in rows}
    except (RuntimeError, ValueError):
        return {}


class Perf:
    """perf record of one process over a phase (--perf): where its CPU went."""

    def __init__(self, pid, name, outdir):
        self.name = name
        self.data = os.path.join(outdir, "perf-%s-%d.data" % (name, pid))
        self.p = subprocess.Popen(["perf", "record", "-q", "-F", "499", "-g", "-p", str(pid), "-o", self.data],
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(0.5)

    def report(self, top=10):
        self.p.send_signal(signal.SIGINT)
        self.p.wait()
        lines = []
        r = subprocess.run(["perf", "report", "-i", self.data, "--no-children", "--sort", "dso,sym", "--stdio",
                            "-g", "none"], capture_output=True, text=True)
        for line in r.stdout.splitlines():
            if line.strip()[:1].isdigit() and "%" in line:
                lines.append("    " + " ".join(line.split()))
            if len(lines) >= top:
                break
        r = subprocess.run(["perf", "report", "-i", self.data, "--children", "--sort", "sym", "--stdio", "-g", "none"],
                           capture_output=True, text=True)
        incl = [" ".join(x.split()) for x in r.stdout.splitlines()
                if x.strip()[:1].isdigit() and any(f in x for f in ("] __poll", "] epoll_wait", "] __send", "] __recv",
                                                                    "] mysql_real_query", "] mysql_stmt_execute",
                                                                    "] lws_dll2_add_sorted"))]
        try:
            os.unlink(self.data)
        except OSError:
            pass
        return ["  perf, %s, self time (top %d):" % (self.name, top)] + lines + \
            ["  perf, %s, inclusive: %s" % (self.name, "; ".join(incl[:8]))]


def pct(xs, p):
    if not xs:
        return float("nan")
    xs = sorted(xs)
    k = (len(xs) - 1) * p / 100.0
    f = int(k)
    c = min(f + 1, len(xs) - 1)
    return xs[f] + (xs[c] - xs[f]) * (k - f)


# ---- engine restart (as tests/engine/conftest.py Engine.restart) -------------

CHILDREN = {}
BINARY_CHANGED = []


def same_file(a, b):
    try:
        sa, sb = os.stat(a), os.stat(b)
        return (sa.st_dev, sa.st_ino) == (sb.st_dev, sb.st_ino)
    except OSError:
        return False


def engine_restart(st, sig=signal.SIGKILL):
    pid = st.engine_pid()
    with open("/proc/%d/cmdline" % pid, "rb") as f:
        argv = [a.decode() for a in f.read().split(b"\0") if a]
    with open("/proc/%d/environ" % pid, "rb") as f:
        env = dict(kv.decode().split("=", 1) for kv in f.read().split(b"\0") if b"=" in kv)
    if not same_file("/proc/%d/exe" % pid, argv[0]):
        # someone rebuilt the program since this engine started: the restart
        # runs a different binary, and the numbers before and after do not compare
        BINARY_CHANGED.append(time.strftime("%H:%M:%S"))
        log("WARNING: %s is not the binary engine %d runs (rebuilt meanwhile?)" % (argv[0], pid))
    os.kill(pid, sig)
    t_kill = time.time()
    deadline = time.monotonic() + 20
    while os.path.exists("/proc/%d" % pid):
        try:
            with open("/proc/%d/stat" % pid, encoding="ascii") as f:
                if f.read().rsplit(") ", 1)[-1].startswith("Z"):
                    break
        except OSError:
            break
        if time.monotonic() > deadline:
            raise RuntimeError("engine %d did not stop" % pid)
        time.sleep(0.02)
    if pid in CHILDREN:
        CHILDREN.pop(pid).wait()
    with open(st.englog, "ab") as lf:
        lf.write(("\n==== %s: starting %s (bench/engine.sh restart after signal %d)\n"
                  % (time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), " ".join(argv), sig)).encode())
        lf.flush()
        p = subprocess.Popen(argv, stdout=lf, stderr=lf, stdin=subprocess.DEVNULL, env=env,
                             start_new_session=True)
    with open(st.pidfile, "w", encoding="ascii") as f:
        f.write("%d\n" % p.pid)
    CHILDREN[p.pid] = p
    return t_kill, p


# ---- sessions and phones -------------------------------------------------------

class Bench:
    def __init__(self, st, a):
        self.st = st
        self.a = a
        self.run = "%04x" % random.randrange(0x10000)
        self.slugs = []
        self.phones = {}       # slug -> phone number
        self.results = {}

    def in_list(self):
        return "(%s)" % ",".join("'%s'" % s for s in self.slugs)

    def status_counts(self, extra=""):
        rows = self.st.sql("SELECT status, COUNT(*) FROM wa_sessions WHERE session_id IN %s %s GROUP BY status"
                           % (self.in_list(), extra))
        return {r[0]: int(r[1]) for r in rows}

    def make_phone(self, push):
        for _ in range(10):
            number = "49" + "".join(random.choice("0123456789") for _ in range(10))
            r = self.st.admin("POST", "/admin/phones", {"number": number, "pushName": push})
            if r.status_code in (200, 201):
                return number
        raise RuntimeError("wa-sim made no phone: %s %s" % (r.status_code, r.text[:200]))

    def create_sessions(self, n):
        self.slugs = ["bench-%s-%04d" % (self.run, i) for i in range(n)]

        def mk(slug):
            r = self.st.api("POST", "/api/sessions", json={"name": slug, "sessionId": slug})
            if r.status_code != 200:
                raise RuntimeError("POST /api/sessions %s: %s %s" % (slug, r.status_code, r.text[:200]))
        with ThreadPoolExecutor(self.a.workers) as ex:
            list(ex.map(mk, self.slugs))

    def wait_counts(self, pred, timeout, what, every=0.25, extra=""):
        deadline = time.monotonic() + timeout
        while True:
            c = self.status_counts(extra)
            if pred(c):
                return c
            if time.monotonic() > deadline:
                raise RuntimeError("timed out after %d s waiting for %s: %s" % (timeout, what, c))
            time.sleep(every)

    def pair_one(self, slug):
        """Scan the session's QR with its phone; unless --pair-burst, wait
        until the API says Connected (so --workers pairings are in flight).
        Returns (retries, seconds from the accepted scan to Connected or None)."""
        number = self.phones[slug]
        last = None
        for attempt in range(12):
            r = self.st.api("GET", "/api/sessions/%s/qr" % slug)
            if r.status_code == 200:
                qr = (r.json().get("data") or {}).get("qr")
                if qr:
                    s = self.st.admin("POST", "/admin/phones/%s/scan" % number, {"qr": qr})
                    if s.status_code == 200:
                        if self.a.pair_burst:
                            return attempt, None
                        t = time.monotonic()
                        while time.monotonic() - t < 60:
                            d = self.st.api("GET", "/api/sessions/%s" % slug)
                            st = d.json().get("status") if d.status_code == 200 else None
                            if st == "Connected":
                                return attempt, time.monotonic() - t
                            if st == "Disconnected":
                                break   # unpaired again (see the failures)
                            time.sleep(0.05)
                        return attempt, None
                    last = "scan %s %s" % (s.status_code, s.text[:120])
            else:
                last = "qr %s %s" % (r.status_code, r.text[:120])
                # the QR list ran out (STOPPED): start the session again
                d = self.st.api("GET", "/api/sessions/%s" % slug)
                if d.status_code == 200 and d.json().get("status") == "Disconnected":
                    self.st.api("POST", "/api/sessions/%s/start" % slug)
            time.sleep(0.5)
        log("%s: not paired: %s" % (slug, last))
        return 12, None

    # ---- 1. memory per session ---------------------------------------------------

    def phase_memory(self):
        a, st = self.a, self.st
        if a.fresh:
            _, proc = engine_restart(st)
            st.engine_ready(proc)
            time.sleep(2)
            log("engine restarted for a fresh baseline (pid %d)" % proc.pid)
        pid = st.engine_pid()
        others = int(st.sql1("SELECT COUNT(*) FROM wa_sessions WHERE engine_id IS NOT NULL") or 0)
        if others:
            log("note: the engine already holds %d sessions; the baseline includes them" % others)
        m0 = mem_settled(pid)
        self.results["m0"] = m0
        self.results["others"] = others
        log("engine pid %d, %d sessions held: RSS %d KiB, PSS %d KiB" % (pid, others, m0["VmRSS"], m0.get("Pss", 0)))

        # -- N sessions waiting for a scan
        cpu = Cpu(st)
        t = time.monotonic()
        self.create_sessions(a.sessions)
        t_create = time.monotonic() - t
        log("created %d sessions in %.1f s; waiting for their QR codes" % (a.sessions, t_create))
        self.wait_counts(lambda c: c.get("SCAN_QR", 0) == a.sessions, 120, "every session to show a QR",
                         extra="AND qr IS NOT NULL")
        t_qr = time.monotonic() - t
        cpu_qr = cpu.line(per=a.sessions, unit="session")
        mq = mem_settled(pid)
        self.results["mq"] = mq
        log("all %d waiting for a scan after %.1f s: RSS %d KiB" % (a.sessions, t_qr, mq["VmRSS"]))

        # -- pair each to its own phone (the CPU figures include making the phones)
        cpu = Cpu(st)
        numbers = []
        with ThreadPoolExecutor(self.a.workers) as ex:
            numbers = list(ex.map(lambda i: self.make_phone("Bench %d" % i), range(a.sessions)))
        self.phones = dict(zip(self.slugs, numbers))
        t = time.monotonic()
        t_scan0 = time.time()
        with ThreadPoolExecutor(self.a.workers) as ex:
            res = list(ex.map(self.pair_one, self.slugs))
        tries = [x[0] for x in res]
        self.results["pair_lat"] = [x[1] for x in res if x[1] is not None]
        t_scan = time.monotonic() - t
        log("%d scans done in %.1f s (%d needed a retry); waiting for CONNECTED"
            % (a.sessions, t_scan, sum(1 for x in tries if x)))
        # done when every session is CONNECTED or has given up (unpaired again)
        final = ("LOGGED_OUT", "FAILED", "STOPPED")
        self.wait_counts(lambda c: c.get("CONNECTED", 0) + sum(c.get(f, 0) for f in final) == a.sessions,
                         60 + a.sessions, "every session to connect")
        bad = st.sql("SELECT session_id, status, IFNULL(last_error, '') FROM wa_sessions WHERE session_id IN %s "
                     "AND status <> 'CONNECTED' ORDER BY session_id" % self.in_list())
        self.results["pair_failed"] = bad
        if bad:
            log("%d sessions did not connect: %s" % (len(bad), "; ".join("%s %s %s" % tuple(b) for b in bad[:5])))
            gone = set(b[0] for b in bad)
            self.all_slugs = list(self.slugs)
            self.slugs = [x for x in self.slugs if x not in gone]
            if not self.slugs:
                raise RuntimeError("no session connected")
        t_pair = float(st.sql1("SELECT UNIX_TIMESTAMP(MAX(connected_at)) FROM wa_sessions WHERE session_id IN "
                               + self.in_list())) - t_scan0
        cpu_pair = cpu.line(per=len(self.slugs), unit="session")
        log("%d CONNECTED %.1f s after the first scan; %.0f s idle" % (len(self.slugs), t_pair, a.settle))
        time.sleep(a.settle)
        mc = mem_settled(pid)
        self.results["mc"] = mc
        log("connected and idle: RSS %d KiB" % mc["VmRSS"])
        self.results.update(t_create=t_create, t_qr=t_qr, t_scan=t_scan, t_pair=t_pair,
                            cpu_qr=cpu_qr, cpu_pair=cpu_pair, retries=sum(1 for x in tries if x))

    # ---- 2. reconnect after a crash --------------------------------------------------

    def phase_reconnect(self):
        a, st = self.a, self.st
        n = len(self.slugs)
        cpu = Cpu(st)
        cpu.pids["engine"] = None  # the old process dies; counted below from the new one
        db_kill = st.sql1("SELECT NOW(3)")
        t_kill, proc = engine_restart(st)
        self.proc = proc
        log("engine killed (SIGKILL) and started again as pid %d; waiting for %d sessions" % (proc.pid, n))
        st.engine_ready(proc)
        self.t_ready = time.time() - t_kill
        deadline = time.monotonic() + 60 + 2 * n
        while True:
            k = int(st.sql1("SELECT COUNT(*) FROM wa_sessions WHERE session_id IN %s AND status = 'CONNECTED' "
                            "AND connected_at >= '%s'" % (self.in_list(), db_kill)) or 0)
            if k == n:
                break
            if proc.poll() is not None:
                raise RuntimeError("the restarted engine exited (rc %s); see %s" % (proc.returncode, st.englog))
            if time.monotonic() > deadline:
                raise RuntimeError("only %d of %d sessions reconnected" % (k, n))
            time.sleep(0.1)
        cts = sorted(float(r[0]) for r in st.sql("SELECT UNIX_TIMESTAMP(connected_at) FROM wa_sessions "
                                                  "WHERE session_id IN " + self.in_list()))
        first, half, t_db = cts[0] - t_kill, cts[(len(cts) - 1) // 2] - t_kill, cts[-1] - t_kill
        t_ready = getattr(self, "t_ready", None)
        # the API's view: GET /api/sessions lists every session with its status
        while True:
            r = st.api("GET", "/api/sessions")
            lst = {s["sessionId"]: s["status"] for s in r.json()}
            if all(lst.get(s) == "Connected" for s in self.slugs):
                break
            time.sleep(0.1)
        t_api = time.time() - t_kill
        wall, d = cpu.done()
        eng_cpu = cpu_s(proc.pid)
        log("all %d CONNECTED again %.2f s after the kill (API %.2f s)" % (n, t_db, t_api))
        time.sleep(a.settle)
        mr = mem_settled(proc.pid)
        self.results.update(t_first=first, t_half=half, t_db=t_db, t_api=t_api, mr=mr, t_ready=t_ready,
                            reconnect_cpu="cpu per session: engine %.2f ms, mariadb %.2f ms, sim %.2f ms"
                            % (1000 * eng_cpu / n, 1000 * d["mariadb"] / n, 1000 * d["sim"] / n))

    # ---- 3. inbound ------------------------------------------------------------------

    def unanswered(self, number):
        r = self.st.admin("GET", "/admin/connections")
        return sum(c.get("unanswered", 0) for c in r.json()["connections"]
                   if (c.get("jid") or "").startswith(number + ":"))

    def phase_inbound(self):
        a, st = self.a, self.st
        slug = self.slugs[0]
        alice = self.phones[slug]
        bob = self.make_phone("Bench B")
        self.bob = bob
        chat = bob + "@s.whatsapp.net"
        sid = st.sql1("SELECT id FROM wa_sessions WHERE session_id = '%s'" % slug)
        self.sid = sid
        cond = "wa_session_id = %s AND remote_jid = '%s' AND from_me = 0" % (sid, chat)

        # warm-up, off the clock: the first message builds the Signal session (pkmsg)
        r = st.admin("POST", "/admin/phones/%s/send" % bob, {"to": alice, "text": "warm-up"})
        assert r.status_code == 200, r.text
        deadline = time.monotonic() + 30
        while int(st.sql1("SELECT COUNT(*) FROM messages WHERE " + cond)) < 1:
            if time.monotonic() > deadline:
                raise RuntimeError("the warm-up message was not stored in 30 s")
            time.sleep(0.1)
        base = 1
        time.sleep(0.5)
        un0 = self.unanswered(alice)

        m = a.messages
        sent = [None] * m      # (id, t_start, t_end)
        errors = []
        nxt = iter(range(m))
        lock = threading.Lock()

        def sender():
            while True:
                with lock:
                    i = next(nxt, None)
                if i is None:
                    return
                t1 = time.time()
                r = st.admin("POST", "/admin/phones/%s/send" % bob, {"to": alice, "text": "in %05d" % i})
                t2 = time.time()
                if r.status_code != 200:
                    errors.append("%s %s" % (r.status_code, r.text[:100]))
                    continue
                sent[i] = (r.json()["id"], t1, t2)

        perfs = [Perf(st.engine_pid(), "engine", "/tmp"), Perf(st.pid_of("sim"), "wa-sim", "/tmp")] if a.perf else []
        cpu = Cpu(st)
        t0 = time.time()
        ths = [threading.Thread(target=sender) for _ in range(a.senders)]
        for th in ths:
            th.start()
        for th in ths:
            th.join()
        # wa-sim answers a send once it has queued the message for every
        # device, so from here on its unanswered count covers them all;
        # it is cheap to poll (the database is read only at the end, so that
        # the polling takes little CPU from the engine and MariaDB)
        deadline = time.monotonic() + 60 + m / 5
        while self.unanswered(alice) > un0:
            if time.monotonic() > deadline:
                raise RuntimeError("wa-sim still counts %d unanswered after %.0f s"
                                   % (self.unanswered(alice) - un0, time.time() - t0))
            time.sleep(0.02)
        answered_at = time.time() - t0
        cpu_line = cpu.line(per=m, unit="msg")
        for pf in perfs:
            cpu_line += "\n" + "\n".join(pf.report())
        while True:
            k = int(st.sql1("SELECT COUNT(*) FROM messages WHERE " + cond)) - base
            if k >= m - len(errors):
                break
            if time.monotonic() > deadline:
                raise RuntimeError("only %d of %d inbound messages stored" % (k, m))
            time.sleep(0.1)
        ok = [s for s in sent if s]
        t_sent = max(s[2] for s in ok) - t0
        ids = {s[0]: s for s in ok}
        rows = st.sql("SELECT message_id, UNIX_TIMESTAMP(created_at) FROM messages WHERE " + cond)
        lat, last = [], t0
        for mid, ts in rows:
            if mid in ids:
                ts = float(ts)
                lat.append(ts - ids[mid][1])
                last = max(last, ts)
        t_store = last - t0   # from the first send to the last row's insert (database clock)
        self.results.update(in_m=m, in_ok=len(ok), in_err=errors, in_sent=t_sent, in_store=t_store,
                            in_answered=answered_at, in_lat=lat, in_cpu=cpu_line,
                            in_unanswered=(un0, self.unanswered(alice)))
        log("inbound: %d sent in %.2f s, stored by %.2f s, answered by %.2f s"
            % (len(ok), t_sent, t_store, answered_at))

    # ---- 4. outbound ------------------------------------------------------------------

    def phase_outbound(self):
        a, st = self.a, self.st
        slug = self.slugs[0]
        chat = self.bob + "@s.whatsapp.net"
        path = "/api/messages/%s/%s/send" % (slug, chat)
        # warm-up, off the clock: usync, key fetch, the Signal session to B's phone
        r = st.api("POST", path, json={"message": {"text": "warm-up"}})
        if r.status_code != 200:
            raise RuntimeError("outbound warm-up: %s %s" % (r.status_code, r.text[:200]))
        m = a.messages
        res = [None] * m
        nxt = iter(range(m))
        lock = threading.Lock()

        def client():
            while True:
                with lock:
                    i = next(nxt, None)
                if i is None:
                    return
                t1 = time.monotonic()
                try:
                    r = st.api("POST", path, json={"message": {"text": "out %05d" % i}})
                    code = r.status_code
                    mid = r.json().get("data", {}).get("key", {}).get("id") if code == 200 else None
                except (requests.RequestException, ValueError) as e:
                    code, mid = str(type(e).__name__), None
                res[i] = (code, time.monotonic() - t1, mid, t1)

        perfs = [Perf(st.engine_pid(), "engine", "/tmp"), Perf(st.pid_of("sim"), "wa-sim", "/tmp")] if a.perf else []
        cpu = Cpu(st)
        t0 = time.monotonic()
        ths = [threading.Thread(target=client) for _ in range(a.clients)]
        for th in ths:
            th.start()
        for th in ths:
            th.join()
        wall = time.monotonic() - t0
        cpu_line = cpu.line(per=m, unit="msg")
        ok = [x for x in res if x and x[0] == 200]
        bad = {}
        for x in res:
            if x and x[0] != 200:
                bad[x[0]] = bad.get(x[0], 0) + 1
        # every sent one DELIVERED (B's phone's receipt) or READ
        sid = self.sid
        want = len(ok)
        deadline = time.monotonic() + 60
        while True:
            k = int(st.sql1("SELECT COUNT(*) FROM messages WHERE wa_session_id = %s AND remote_jid = '%s' "
                            "AND from_me = 1 AND status IN ('DELIVERED', 'READ') AND content LIKE 'out %%'"
                            % (sid, chat)))
            if k >= want or time.monotonic() > deadline:
                break
            time.sleep(0.1)
        delivered = time.monotonic() - t0
        for pf in perfs:
            cpu_line += "\n" + "\n".join(pf.report())
        self.results.update(out_m=m, out_ok=len(ok), out_bad=bad, out_wall=wall,
                            out_lat=[x[1] for x in ok], out_cpu=cpu_line, out_delivered=(k, delivered))
        log("outbound: %d of %d answered 200 in %.2f s; %d delivered by %.2f s" % (len(ok), m, wall, k, delivered))

    # ---- 5. memory after the traffic ----------------------------------------------------

    def phase_after_traffic(self):
        """The same idle sessions once the messages have gone through: memory
        that grows with traffic (caches without bounds, leaks per message)
        shows here, against the idle sample taken before (or after the
        restart)."""
        pid = self.st.engine_pid()
        time.sleep(self.a.settle)
        self.results["mt"] = mem_settled(pid)
        self.results["mt_msgs"] = self.results.get("in_m", 0) + self.results.get("out_m", 0)
        log("idle after %d messages: RSS %d KiB" % (self.results["mt_msgs"], self.results["mt"]["VmRSS"]))

    def cleanup(self):
        slugs = getattr(self, "all_slugs", None) or self.slugs
        if not slugs:
            return
        log("deleting the %d bench sessions (logout)" % len(slugs))

        def rm(slug):
            try:
                self.st.api("DELETE", "/api/sessions/%s" % slug, timeout=30)
            except requests.RequestException:
                pass
        with ThreadPoolExecutor(self.a.workers) as ex:
            list(ex.map(rm, slugs))

    # ---- the summary ---------------------------------------------------------------------

    def summary(self):
        for part in (self.summary_memory, self.summary_reconnect, self.summary_inbound, self.summary_outbound,
                     self.summary_after_traffic):
            try:
                part()
            except (KeyError, TypeError, ZeroDivisionError) as e:
                out("(this part is incomplete: %s)" % e)
                out()

    def summary_memory(self):
        R, a = self.results, self.a
        n_all = len(getattr(self, "all_slugs", None) or self.slugs)
        n = len(self.slugs)
        out("## 1. memory per session (engine, N = %d; %d sessions held before)" % (n_all, R.get("others", 0)))
        if "m0" in R:
            m0, mq, mc = R["m0"], R["mq"], R["mc"]
            hdr = "%-34s %9s %9s %9s %9s %8s %5s %7s" % ("state", "VmRSS", "RssAnon", "Pss", "Pss_Anon",
                                                      "Threads", "fds", "VmHWM")
            out(hdr)

            def row(name, m):
                out("%-34s %9d %9d %9d %9d %8d %5d %7d" % (name, m["VmRSS"], m.get("RssAnon", 0), m.get("Pss", 0),
                                                          m.get("Pss_Anon", 0), m.get("Threads", 0),
                                                          m.get("fds", 0), m.get("VmHWM", 0)))
            row("0 sessions (KiB)", m0)
            row("N waiting for a QR scan", mq)
            row("N paired, connected, idle", mc)
            if "mr" in R:
                row("N after SIGKILL + restart", R["mr"])

            def per(m, k, d):
                return (m.get(k, 0) - m0.get(k, 0)) / d
            out("per session, (X_N - X_0) / N, KiB:       VmRSS   RssAnon       Pss  Pss_Anon      fds")

            def prow(name, m, d):
                out("  %-34s %9.1f %9.1f %9.1f %9.1f %8.2f" % (name, per(m, "VmRSS", d), per(m, "RssAnon", d),
                                                         per(m, "Pss", d), per(m, "Pss_Anon", d), per(m, "fds", d)))
            prow("waiting for a QR scan", mq, n_all)
            prow("connected, idle", mc, n)
            if "mr" in R:
                prow("connected, fresh process", R["mr"], n)
            if n != n_all:
                out("  (the connected rows divide by the %d that connected; the others are not held)" % n)
            out("timings: %d POST /api/sessions in %.1f s; all showing a QR %.1f s after the first POST;"
                % (n_all, R["t_create"], R["t_qr"]))
            lat = R.get("pair_lat") or []
            how = ("all scans at once (--pair-burst)" if a.pair_burst else
                   "%d pairings in flight (--workers), each waited for until Connected" % a.workers)
            out("pairing, %s:" % how)
            out("  %d scans done in %.1f s (%d retried), %d CONNECTED, the last %.1f s after the first scan "
                "(%.1f sessions/s)" % (n_all, R["t_scan"], R["retries"], n, R["t_pair"], n / R["t_pair"]))
            if lat:
                out("  scan accepted -> API says Connected: p50 %.0f ms, p90 %.0f ms, p99 %.0f ms, max %.0f ms"
                    % tuple(1000 * pct(lat, p) for p in (50, 90, 99, 100)))
            for b in R.get("pair_failed") or []:
                out("  NOT CONNECTED: %s status %s: %s" % tuple(b))
            out("  %s" % R["cpu_qr"].replace("cpu", "cpu to reach SCAN_QR", 1))
            out("  %s" % R["cpu_pair"].replace("cpu", "cpu to pair", 1))
        out()

    def summary_reconnect(self):
        R, n = self.results, len(self.slugs)
        if "t_db" in R:
            out("## 2. reconnect after SIGKILL (N = %d)" % n)
            out("all %d CONNECTED again %.2f s after the kill: %.1f sessions/s" % (n, R["t_db"], n / R["t_db"]))
            out("  command port open %.2f s, first session %.2f s, half %.2f s (connected_at, database clock);"
                % (R["t_ready"], R["t_first"], R["t_half"]))
            out("  GET /api/sessions first listed all %d Connected at %.2f s (polled)" % (n, R["t_api"]))
            out("  %s (the new engine's whole life so far)" % R["reconnect_cpu"])
            out()

    def summary_inbound(self):
        R, a = self.results, self.a
        if "in_m" in R:
            lat = R["in_lat"]
            out("## 3. inbound: phone B -> phone A -> session (M = %d, %d admin-API senders)" % (R["in_m"], a.senders))
            out("wa-sim accepted %d sends in %.2f s: %.0f sends/s (the offered load)"
                % (R["in_ok"], R["in_sent"], R["in_ok"] / R["in_sent"]))
            out("all stored %.2f s after the first send: %.0f msg/s end to end (decrypt + store + event)"
                % (R["in_store"], R["in_ok"] / R["in_store"]))
            out("all answered (wa-sim's unanswered count back to %d) by %.2f s: %.0f msg/s with the receipt"
                % (R["in_unanswered"][0], R["in_answered"], R["in_ok"] / R["in_answered"]))
            out("  send -> stored latency: p50 %.0f ms, p90 %.0f ms, p99 %.0f ms, max %.0f ms"
                % tuple(1000 * pct(lat, p) for p in (50, 90, 99, 100)))
            if R["in_err"]:
                out("  %d admin sends failed, first: %s" % (len(R["in_err"]), R["in_err"][0]))
            out("  %s" % R["in_cpu"])
            out()

    def summary_outbound(self):
        R, a = self.results, self.a
        if "out_m" in R:
            lat = R["out_lat"]
            out("## 4. outbound: POST /api/messages/.../send (M = %d, %d clients)" % (R["out_m"], a.clients))
            out("%d answered 200 in %.2f s: %.0f msg/s" % (R["out_ok"], R["out_wall"], R["out_ok"] / R["out_wall"]))
            out("  latency: p50 %.1f ms, p90 %.1f ms, p99 %.1f ms, max %.1f ms"
                % tuple(1000 * pct(lat, p) for p in (50, 90, 99, 100)))
            if R["out_bad"]:
                out("  not 200: %s" % ", ".join("%s x%d" % kv for kv in sorted(R["out_bad"].items(), key=str)))
            k, t = R["out_delivered"]
            out("  %d DELIVERED (B's phone's receipt stored) %.2f s after the first send" % (k, t))
            out("  %s" % R["out_cpu"])
            out()


    def summary_after_traffic(self):
        R = self.results
        if "mt" not in R:
            return
        base = R.get("mr") or R["mc"]
        d_rss = R["mt"]["VmRSS"] - base["VmRSS"]
        d_anon = R["mt"].get("RssAnon", 0) - base.get("RssAnon", 0)
        n = max(R["mt_msgs"], 1)
        out("## 5. memory after the traffic (the same sessions idle again, %d messages in and out)" % R["mt_msgs"])
        out("VmRSS %d KiB, RssAnon %d KiB: %+d / %+d KiB against idle %s (%+.2f KiB per 1000 messages; the "
            "first traffic of a process includes its heap's and statement caches' warm-up, so growth that "
            "continues shows only over several runs against one process, --no-fresh)"
            % (R["mt"]["VmRSS"], R["mt"].get("RssAnon", 0), d_rss, d_anon,
               "after the restart" if "mr" in R else "before the traffic", 1000.0 * d_anon / n))
        out()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--state", required=True)
    ap.add_argument("-n", "--sessions", type=int, default=200)
    ap.add_argument("-m", "--messages", type=int, default=500)
    ap.add_argument("--senders", type=int, default=4, help="threads sending through wa-sim's admin API")
    ap.add_argument("--clients", type=int, default=4, help="concurrent API clients for outbound")
    ap.add_argument("--workers", type=int, default=4, help="threads creating and pairing sessions")
    ap.add_argument("--settle", type=float, default=5.0, help="idle seconds before a memory sample")
    ap.add_argument("--skip", default="", help="comma list of phases to skip: reconnect,inbound,outbound")
    ap.add_argument("--no-fresh", dest="fresh", action="store_false",
                    help="do not restart the engine first (default: a fresh process for the 0-session baseline)")
    ap.add_argument("--reset-sim", action="store_true",
                    help="POST /admin/reset to wa-sim first: forgets EVERY phone of that wa-sim (own stacks only)")
    ap.add_argument("--pair-burst", action="store_true",
                    help="scan every QR as fast as wa-sim takes it instead of one pairing per worker at a time")
    ap.add_argument("--perf", action="store_true",
                    help="perf record the engine and wa-sim during the message phases; top symbols in the summary")
    ap.add_argument("--keep", action="store_true", help="keep the sessions (default: delete them at the end)")
    a = ap.parse_args()
    if a.sessions < 1:
        ap.error("--sessions must be at least 1")
    skip = set(x for x in a.skip.split(",") if x)
    st = Stack(a.state)
    b = Bench(st, a)
    rc = 0
    phones = len(st.admin("GET", "/admin/phones").json().get("phones", []))
    if a.reset_sim:
        r = st.admin("POST", "/admin/reset")
        if r.status_code != 200:
            log("POST /admin/reset: %s %s" % (r.status_code, r.text[:200]))
            return 1
        log("wa-sim reset (it held %d phones)" % phones)
        out("wa-sim held %d phones at the start; reset (POST /admin/reset) before the run" % phones)
    else:
        out("wa-sim held %d phones at the start (not reset)" % phones)
        if phones > 100:
            log("note: wa-sim holds %d phones from earlier runs; it gets slower with every one "
                "(see bench/README.md); --reset-sim on a stack of your own" % phones)
    out()
    try:
        b.phase_memory()
        if "reconnect" not in skip:
            b.phase_reconnect()
        if "inbound" not in skip:
            b.phase_inbound()
            if "outbound" not in skip:
                b.phase_outbound()
            b.phase_after_traffic()
    except (Exception, KeyboardInterrupt) as e:  # report what was measured before the failure
        log("FAILED: %s" % (e or type(e).__name__))
        out("FAILED: %s" % (e or type(e).__name__))
        out()
        rc = 1
    b.summary()
    if BINARY_CHANGED:
        out("WARNING: the engine's binary was replaced during the run (restarts at %s ran a new build); "
            "the phases do not compare" % ", ".join(BINARY_CHANGED))
        out()
    if not a.keep:
        b.cleanup()
    return rc


if __name__ == "__main__":
    sys.exit(main())
