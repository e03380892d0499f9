#!/usr/bin/python3
"""Boot rehearsal: the parts of the machine that are not the script, run outside the chroot.

  lay <root> <setup.json>         the image's first-boot state in the rehearsal root
  run <root> <upper> <run.json>   one boot: cloud-init's part of it as cloud-init does it (see
                                  docs/architecture.md), the console and /dev/log read, the wait for
                                  the script's children, sshd -t and -T, the collection

Standard library only (the machine's own /usr/bin/python3).
"""
import email
import glob
import gzip
import json
import os
import select
import shlex
import shutil
import socket
import stat
import subprocess
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.dont_write_bytecode = True
sys.path.insert(0, HERE)
import stub  # noqa: E402

# systemd starts cloud-init with this PATH and the locale; nothing else reaches the scripts.
SCRIPT_ENV = {"PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "LANG": "C.UTF-8"}
CLOUD_INIT = "Cloud-init v. 24.4.1-0ubuntu0~24.04.1"
UBUNTU_OS_RELEASE = """PRETTY_NAME="Ubuntu 24.04.3 LTS"
NAME="Ubuntu"
VERSION_ID="24.04"
VERSION="24.04.3 LTS (Noble Numbat)"
VERSION_CODENAME=noble
ID=ubuntu
ID_LIKE=debian
UBUNTU_CODENAME=noble
"""
AMI_FIRST_BOOT = """#!/bin/bash
# Stand-in for the GitLab AMI's first-boot script: the real one sets external_url and the root
# password from the instance's metadata, then reconfigures.
echo 'gitlab AMI first boot: configuring GitLab'
gitlab-ctl reconfigure
"""
SYSTEM_STUBS = ["apt-get", "dpkg", "curl", "cloud-init", "systemctl", "sleep"]


def write(path, text, mode):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    if os.path.lexists(path):
        os.remove(path)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(fd, "w") as out:
        out.write(text)
    os.chmod(path, mode)


def make_dev(dev):
    """A minimal /dev. The console is a FIFO the harness drains: a regular file would be truncated by
    every `2>/dev/console`, as no real console is."""
    for name, major, minor in (("null", 1, 3), ("zero", 1, 5), ("random", 1, 8), ("urandom", 1, 9), ("tty", 5, 0)):
        os.mknod(dev + "/" + name, 0o666 | stat.S_IFCHR, os.makedev(major, minor))
        os.chmod(dev + "/" + name, 0o666)
    os.mkfifo(dev + "/console", 0o600)
    os.symlink("/proc/self/fd", dev + "/fd")
    for number, name in enumerate(("stdin", "stdout", "stderr")):
        os.symlink("/proc/self/fd/%d" % number, dev + "/" + name)
    os.mkdir(dev + "/shm")
    os.chmod(dev + "/shm", 0o1777)


def lay(root, setup):
    make_dev(root + "/dev")
    state = root + stub.STATE
    os.makedirs(state + "/real", exist_ok=True)
    os.chmod(state, 0o700)
    shutil.copy(os.path.join(HERE, "stub.py"), state + "/stub")
    os.chmod(state + "/stub", 0o755)
    if os.path.exists(root + "/usr/bin/curl"):
        shutil.copy(root + "/usr/bin/curl", state + "/real/curl")
    for name in SYSTEM_STUBS:
        stub.link(root, stub.STATE + "/stub", "/usr/bin/" + name)
    baked = setup["image"] == "baked"
    # Ubuntu 24.04's identity; the packages underneath are the machine's own.
    write(root + "/etc/os-release", UBUNTU_OS_RELEASE, 0o644)
    if os.path.lexists(root + "/etc/gitlab") and not baked:
        shutil.rmtree(root + "/etc/gitlab")
    # The instance's host keys: the three types Ubuntu 24.04 generates, no DSA. An instance of a
    # baked image gets new ones too: cloud-init's cc_ssh deletes and regenerates them on a new instance.
    for path in glob.glob(root + "/etc/ssh/ssh_host_*"):
        os.remove(path)
    for key in setup["hostKeys"]:
        for suffix, mode in (("", 0o600), (".pub", 0o644)):
            target = root + "/etc/ssh/" + os.path.basename(key) + suffix
            shutil.copy(key + suffix, target)
            os.chmod(target, mode)
    os.makedirs(root + "/etc/ssh/sshd_config.d", exist_ok=True)
    # The fake endpoints: SSM's name on loopback, the test CA in the system trust store.
    line = "127.0.0.1 ssm." + setup["region"] + ".amazonaws.com\n"
    if line not in open(root + "/etc/hosts").read():
        with open(root + "/etc/hosts", "a") as hosts:
            hosts.write(line)
    bundle = root + "/etc/ssl/certs/ca-certificates.crt"
    os.makedirs(os.path.dirname(bundle), exist_ok=True)
    shutil.copy(setup["rdsBundle"], state + "/rds-bundle.pem")
    ca = open(setup["caCert"]).read()
    if not os.path.exists(bundle) or ca not in open(bundle).read():
        with open(bundle, "a") as out:
            out.write(ca)
    iid = setup["instanceId"]
    for directory in ["/var/lib/cloud/scripts/per-instance", "/var/lib/cloud/scripts/per-boot", "/var/lib/cloud/data",
                      "/var/lib/cloud/instances/" + iid + "/scripts"]:
        os.makedirs(root + directory, exist_ok=True)
    stub.link(root, "/var/lib/cloud/instances/" + iid, "/var/lib/cloud/instance")
    write(root + "/var/lib/cloud/data/instance-id", iid + "\n", 0o644)
    for extra in setup.get("files", []):
        target = root + extra["path"]
        os.makedirs(os.path.dirname(target), exist_ok=True)
        with open(target, "wb") as out:
            out.write(bytes.fromhex(extra["contentHex"]))
        os.chmod(target, extra["mode"])
    if setup["image"] == "gitlab-ami":
        stub.install_gitlab(root, setup["edition"], setup["version"])
        write(root + "/var/lib/cloud/scripts/per-instance/gitlab", AMI_FIRST_BOOT, 0o755)
    elif setup["image"] == "ubuntu":
        shutil.rmtree(root + "/opt/gitlab", ignore_errors=True)


def parse_user_data(data):
    """cloud-init's reading of user-data: gzip, then MIME multipart or one part guessed by its first line."""
    if data[:2] == b"\x1f\x8b":
        data = gzip.decompress(data)
    text = data.decode("utf-8", errors="replace")
    head = text[:4096].lower()
    parts = []
    if "mime-version:" in head or head.startswith("content-type: multipart"):
        message = email.message_from_string(text)
        for number, part in enumerate((p for p in message.walk() if not p.is_multipart()), start=1):
            payload = part.get_payload(decode=True) or b""
            name = part.get_filename() or "part-%03d" % number
            parts.append((part.get_content_type(), name, payload.decode("utf-8", errors="replace")))
    else:
        parts.append(("text/plain", "part-001", text))
    configs, scripts, ignored = [], [], []
    for content_type, name, body in parts:
        if content_type == "text/x-shellscript" or (content_type == "text/plain" and body.startswith("#!")):
            scripts.append((name, body))
        elif content_type == "text/cloud-config" or (content_type == "text/plain" and body.startswith("#cloud-config")):
            configs.append((name, body))
        else:
            ignored.append({"name": name, "contentType": content_type})
    return configs, scripts, ignored


def cloud_config(configs, steps):
    """Merged cloud-config: later parts replace earlier keys (cloud-init's default merge). JSON-compatible YAML only."""
    merged = {}
    for name, body in configs:
        lines = body.split("\n", 1)
        try:
            merged.update(json.loads(lines[1] if len(lines) > 1 else "{}"))
        except ValueError as error:
            steps.append({"stage": "cloud-config", "name": name, "exitCode": None,
                          "error": "not JSON-compatible YAML (the rehearsal reads flow style only): " + str(error)})
    return merged


class Console:
    def __init__(self, root, path):
        self.out = open(path, "ab", buffering=0)
        log = root + "/var/log/cloud-init-output.log"
        new = not os.path.exists(log)
        self.log = open(log, "ab", buffering=0)
        if new:
            os.chmod(log, 0o640)
            os.chown(log, 0, 4)

    def write(self, data):
        if isinstance(data, str):
            data = data.encode()
        self.out.write(data)
        self.log.write(data)


def run_in_root(root, argv, console, deadline, env=None):
    """Runs one program in the root as cloud-init does (output to the console and cloud-init-output.log)."""
    started = time.time()
    process = subprocess.Popen(["chroot", root, "/usr/bin/env", "-i"] + ["%s=%s" % item for item in (env or SCRIPT_ENV).items()] + argv,
                               stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    fd = process.stdout.fileno()
    timed_out = False
    while True:
        left = deadline - time.time()
        if left <= 0:
            timed_out = True
            break
        ready, _, _ = select.select([fd], [], [], min(left, 0.5))
        if ready:
            chunk = os.read(fd, 65536)
            if not chunk:
                break
            console.write(chunk)
    if timed_out:
        kill_root_processes(root)
    code = process.wait()
    return {"exitCode": code, "seconds": round(time.time() - started, 3), "timedOut": timed_out}


def root_processes(root):
    found = []
    for pid in os.listdir("/proc"):
        if pid.isdigit() and int(pid) != os.getpid():
            try:
                if os.readlink("/proc/" + pid + "/root") == root:
                    found.append(int(pid))
            except OSError:
                pass
    return found


def kill_root_processes(root):
    for pid in root_processes(root):
        try:
            os.kill(pid, 9)
        except OSError:
            pass


def boot(root, run):
    mode = run["mode"]
    iid = run["instanceId"]
    deadline = time.time() + run["timeoutSeconds"]
    console = Console(root, root + run["console"])
    steps = []
    stamp = time.strftime("%a, %d %b %Y %H:%M:%S +0000", time.gmtime())
    user_data = bytes.fromhex(run["userDataHex"]) if run.get("userDataHex") is not None else None
    configs, scripts, ignored = parse_user_data(user_data) if user_data is not None else ([], [], [])
    instance = root + "/var/lib/cloud/instances/" + iid
    if mode == "boot" and user_data is not None:
        # As cloud-init keeps it: the raw bytes, root only, and each script part as an executable file.
        fd = os.open(instance + "/user-data.txt", os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as out:
            out.write(user_data)
        for name, body in scripts:
            write(instance + "/scripts/" + name, body, 0o700)
    config = cloud_config(configs, steps)
    if mode in ("boot", "reboot"):
        console.write(CLOUD_INIT + " running 'init' at " + stamp + ". Up 5.21 seconds.\n")
        bootcmd = config.get("bootcmd") or []
        if bootcmd:
            # cc_bootcmd: every entry in one /bin/sh script (lists quoted word by word), INSTANCE_ID set.
            body = "#!/bin/sh\n" + "".join((" ".join(shlex.quote(str(w)) for w in entry) if isinstance(entry, list) else str(entry)) + "\n"
                                           for entry in bootcmd)
            write(root + "/var/tmp/cloud-init-bootcmd.sh", body, 0o700)
            env = dict(SCRIPT_ENV, INSTANCE_ID=iid)
            result = run_in_root(root, ["/bin/sh", "/var/tmp/cloud-init-bootcmd.sh"], console, deadline, env)
            os.remove(root + "/var/tmp/cloud-init-bootcmd.sh")
            steps.append(dict(result, stage="bootcmd", name="bootcmd"))
        console.write(CLOUD_INIT + " running 'modules:final' at " + stamp + ". Up 18.87 seconds.\n")
        stages = [("per-boot", "/var/lib/cloud/scripts/per-boot")]
        if mode == "boot":
            stages.append(("per-instance", "/var/lib/cloud/scripts/per-instance"))
        for stage, directory in stages:
            for name in sorted(os.listdir(root + directory)):
                path = directory + "/" + name
                if os.path.isfile(root + path) and os.access(root + path, os.X_OK):
                    steps.append(dict(run_in_root(root, [path], console, deadline), stage=stage, name=path))
    if mode in ("boot", "again"):
        for name in sorted(os.listdir(instance + "/scripts")):
            path = "/var/lib/cloud/instances/" + iid + "/scripts/" + name
            steps.append(dict(run_in_root(root, [path], console, deadline), stage="user-data", name=path))
        failed = [step for step in steps if step["stage"] == "user-data" and step["exitCode"] != 0]
        if failed:
            console.write("cloud-init[981]: " + time.strftime("%Y-%m-%d %H:%M:%S,000", time.gmtime())
                          + " - cc_scripts_user.py[WARNING]: Failed to run module scripts_user"
                          + " (scripts in /var/lib/cloud/instance/scripts)\n")
    if mode in ("boot", "reboot"):
        console.write(CLOUD_INIT + " finished at " + stamp + ". Datasource DataSourceEc2Local.  Up 19.02 seconds\n")
    return {"steps": steps, "ignoredParts": ignored}


def describe(path):
    info = os.lstat(path)
    entry = {"mode": stat.S_IMODE(info.st_mode), "uid": info.st_uid, "gid": info.st_gid}
    if stat.S_ISREG(info.st_mode):
        entry["type"] = "file"
        with open(path, "rb") as source:
            entry["contentHex"] = source.read().hex()
    elif stat.S_ISDIR(info.st_mode):
        entry["type"] = "dir"
    elif stat.S_ISLNK(info.st_mode):
        entry["type"] = "link"
        entry["target"] = os.readlink(path)
    else:
        entry["type"] = "other"
    return entry


def collect(root, upper, run, out):
    files = {}
    for pattern in run.get("collect", []):
        for path in sorted(glob.glob(root + pattern, recursive=True)):
            # glob answers 'dir/**' with 'dir/' even when dir does not exist.
            if os.path.lexists(path):
                files[path[len(root):].rstrip("/") or "/"] = describe(path)
    # World-readable regular files under /etc/gitlab and /var/log changed during this run (the overlay's
    # upper layer holds exactly what was written; ctime says when).
    readable = []
    for top in ("/etc/gitlab", "/var/log"):
        for directory, _, names in os.walk(upper + top):
            for name in names:
                info = os.lstat(os.path.join(directory, name))
                if stat.S_ISREG(info.st_mode) and info.st_mode & 0o004 and info.st_ctime >= run["startedAt"]:
                    readable.append(os.path.join(directory, name)[len(upper):])
    with open(out, "w") as result:
        json.dump({"files": files, "worldReadable": sorted(readable)}, result)


class Syslog(threading.Thread):
    """/dev/log: what `logger` sends, one line per message (journald's socket on Ubuntu)."""

    def __init__(self, path, out):
        super().__init__(daemon=True)
        if os.path.lexists(path):
            os.remove(path)
        self.path = path
        self.server = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.server.bind(path)
        os.chmod(path, 0o666)
        self.server.settimeout(0.05)
        self.journal = open(out, "ab", buffering=0)
        self.stopping = False

    def run(self):
        while True:
            try:
                self.journal.write(self.server.recv(65536).rstrip(b"\n") + b"\n")
            except socket.timeout:
                if self.stopping:
                    break

    def stop(self):
        self.stopping = True
        self.join()
        self.server.close()
        os.remove(self.path)


class ConsoleReader(threading.Thread):
    """Drains the FIFO that is the instance's /dev/console, until a marker written last."""

    MARKER = b"\nrehearsal-console-end\n"

    def __init__(self, fifo, out):
        super().__init__(daemon=True)
        self.fifo = fifo
        self.fd = os.open(fifo, os.O_RDWR)  # never an end of file while writers come and go
        self.out = out
        self.data = bytearray()

    def run(self):
        while not self.data.endswith(self.MARKER):
            self.data += os.read(self.fd, 65536)

    def stop(self):
        writer = os.open(self.fifo, os.O_WRONLY)
        os.write(writer, self.MARKER)
        os.close(writer)
        self.join(10)
        os.close(self.fd)
        with open(self.out, "wb") as out:
            out.write(self.data[: -len(self.MARKER)] if self.data.endswith(self.MARKER) else self.data)


def wait_for_root_processes(root, seconds):
    """The script's background children (tee, logger) print its last lines after it exits: wait, bounded; kill the rest."""
    deadline = time.time() + seconds
    while time.time() < deadline:
        if not root_processes(root):
            return []
        time.sleep(0.02)
    left = root_processes(root)
    kill_root_processes(root)
    return left


def sshd(root, flag, out):
    run = subprocess.run(["chroot", root, "/usr/sbin/sshd", flag], capture_output=True)
    return {"exitCode": run.returncode, "stdout": run.stdout.decode(errors="replace"), "stderr": run.stderr.decode(errors="replace")}


def rehearse(root, upper, run):
    """One run: the console and /dev/log read, cloud-init's boot, the wait, sshd's verdict, the collection."""
    out = run["out"]
    run["startedAt"] = time.time()  # what the collection calls written during this run
    console = ConsoleReader(root + "/dev/console", out + "/console.txt")
    console.start()
    journal = Syslog(root + "/dev/log", out + "/journal.log")
    journal.start()
    result = boot(root, run)
    result["leftovers"] = wait_for_root_processes(root, 10)
    result["sshd"] = {"test": sshd(root, "-t", out), "config": sshd(root, "-T", out)}
    journal.stop()
    console.stop()
    collect(root, upper, run, out + "/collected.json")
    shutil.copy(root + stub.CALLS, out + "/calls.jsonl")
    with open(out + "/steps.json", "w") as steps:
        json.dump(result, steps)


def main():
    command = sys.argv[1]
    if command == "lay":
        lay(sys.argv[2], json.load(open(sys.argv[3])))
    elif command == "run":
        rehearse(sys.argv[2], sys.argv[3], json.load(open(sys.argv[4])))
    else:
        sys.exit("unknown command " + command)


if __name__ == "__main__":
    main()
