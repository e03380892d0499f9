#!/usr/bin/python3 -S
"""Boot rehearsal: the stand-in for GitLab's and the system's commands inside the rehearsal root.

Installed once as /.rehearsal/stub and reached through symlinks on the paths the user-data calls
(gitlab-ctl, apt-get, sleep, ...): argv[0] says which command it is. Every call appends one JSON
line to /.rehearsal/calls.jsonl (argv, the whole environment, the watched files with their modes)
and may be told to fail by /.rehearsal/stubs.json. Standard library only.
"""
import fcntl
import hashlib
import json
import os
import secrets
import stat
import string
import sys

STATE = "/.rehearsal"
CALLS = STATE + "/calls.jsonl"
CONFIG = STATE + "/stubs.json"
WATCHED = ["/etc/gitlab", "/run/sshd", "/etc/ssh/sshd_config.d"]

# What `gitlab-ctl reconfigure` generates in /etc/gitlab/gitlab-secrets.json when a key is missing:
# omnibus' SecretsHelper (files/gitlab-cookbooks/package/libraries/helpers/secrets_helper.rb)
# gathers these sections, each library generating its own keys on the first reconfigure.
HEX = "hex"
RSA = "rsa"
KEY_ARRAY = "array"
ALNUM = "alnum"
GENERATED_SECRETS = {
    "gitlab_rails": {
        "secret_key_base": HEX,
        "db_key_base": HEX,
        "otp_key_base": HEX,
        "encrypted_settings_key_base": HEX,
        "openid_connect_signing_key": RSA,
        "ci_jwt_signing_key": RSA,
        "active_record_encryption_primary_key": KEY_ARRAY,
        "active_record_encryption_deterministic_key": KEY_ARRAY,
        "active_record_encryption_key_derivation_salt": ALNUM,
    },
    "gitlab_workhorse": {"secret_token": "base64"},
    "gitlab_shell": {"secret_token": HEX},
    "gitlab_kas": {"api_secret_key": "base64", "private_api_secret_key": "base64", "websocket_token_secret_key": "base64"},
    "gitaly": {"gitlab_secret": HEX},
}

GITLAB_COMMANDS = ["gitlab-ctl", "gitlab-rake", "gitlab-rails", "gitlab-psql", "gitlab-backup"]
# The first line of the package's /etc/gitlab/gitlab.rb template that matters here.
DEFAULT_GITLAB_RB = "## GitLab configuration settings (the package's template, as the image has it)\nexternal_url 'http://gitlab.example.com'\n"
KEYS_CHECK = "/opt/gitlab/embedded/service/gitlab-shell/bin/gitlab-shell-authorized-keys-check"


def generate(kind):
    if kind == HEX:
        return secrets.token_hex(64)
    if kind == "base64":
        import base64

        return base64.b64encode(secrets.token_bytes(32)).decode()
    if kind == RSA:
        import base64

        body = base64.b64encode(secrets.token_bytes(300)).decode()
        return "-----BEGIN RSA PRIVATE KEY-----\n" + body + "\n-----END RSA PRIVATE KEY-----\n"
    alphabet = string.ascii_letters + string.digits
    value = "".join(secrets.choice(alphabet) for _ in range(32))
    return [value] if kind == KEY_ARRAY else value


def install_gitlab(prefix, edition, version):
    """What the package lays down (the GitLab AMI has it already; apt-get install does it on Ubuntu)."""
    stub = STATE + "/stub"
    for directory in ["/opt/gitlab/bin", "/opt/gitlab/embedded/bin", os.path.dirname(KEYS_CHECK), "/var/opt/gitlab", "/var/log/gitlab"]:
        os.makedirs(prefix + directory, exist_ok=True)
    for name in GITLAB_COMMANDS:
        link(prefix, stub, "/opt/gitlab/bin/" + name)
        link(prefix, "/opt/gitlab/bin/" + name, "/usr/bin/" + name)
    link(prefix, stub, "/opt/gitlab/embedded/bin/psql")
    link(prefix, stub, KEYS_CHECK)
    with open(prefix + "/opt/gitlab/version-manifest.txt", "w") as manifest:
        manifest.write("gitlab-" + edition + " " + version + "\n")
    os.makedirs(prefix + "/etc/gitlab", exist_ok=True)
    os.chmod(prefix + "/etc/gitlab", 0o775)
    rb = prefix + "/etc/gitlab/gitlab.rb"
    if not os.path.exists(rb):
        fd = os.open(rb, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as out:
            out.write(DEFAULT_GITLAB_RB)


def link(prefix, target, path):
    if os.path.lexists(prefix + path):
        os.remove(prefix + path)
    os.symlink(target, prefix + path)


def watched_files():
    found = {}
    for top in WATCHED:
        if not os.path.lexists(top):
            continue
        entries = [top]
        if os.path.isdir(top) and not os.path.islink(top):
            for directory, dirs, files in os.walk(top):
                entries += [os.path.join(directory, name) for name in sorted(dirs + files)]
        for path in entries:
            info = os.lstat(path)
            found[path] = {"mode": "%04o" % stat.S_IMODE(info.st_mode), "uid": info.st_uid, "gid": info.st_gid,
                           "type": "dir" if stat.S_ISDIR(info.st_mode) else "link" if stat.S_ISLNK(info.st_mode) else "file"}
    return found


def matches(rule, argv):
    words = rule["command"].split()
    called = [argv[0] if "/" in words[0] else os.path.basename(argv[0])] + argv[1:]
    return called[: len(words)] == words


def decide(config, argv, previous):
    """The exit code and message this call is told to fail with, or None."""
    if config.get("failOnCall") == len(previous) + 1:
        return {"exitCode": 1, "message": None}
    for rule in config.get("fail", []):
        if not matches(rule, argv):
            continue
        nth = 1 + sum(1 for call in previous if matches(rule, call["argv"]))
        if rule.get("call") in (None, nth):
            return {"exitCode": rule.get("exitCode", 1), "message": rule.get("message")}
    return None


def record(argv, extra):
    """Appends this call; returns (the failure it is told to have or None, the stub configuration)."""
    config = json.load(open(CONFIG)) if os.path.exists(CONFIG) else {}
    with open(CALLS, "a+") as calls:
        fcntl.flock(calls, fcntl.LOCK_EX)
        calls.seek(0)
        previous = [json.loads(line) for line in calls if line.strip()]
        failure = decide(config, argv, previous)
        entry = {"argv": argv, "env": dict(os.environ), "cwd": os.getcwd(), "files": watched_files(),
                 "exitCode": failure["exitCode"] if failure else 0}
        entry.update(extra)
        calls.write(json.dumps(entry) + "\n")
    return failure, config


def reconfigure():
    """As omnibus does with gitlab-secrets.json: keep what is there, generate what is missing, write it 0600."""
    path = "/etc/gitlab/gitlab-secrets.json"
    existing = json.load(open(path)) if os.path.exists(path) else {}
    generated = []
    for section, keys in GENERATED_SECRETS.items():
        values = existing.setdefault(section, {})
        for key, kind in keys.items():
            if key not in values:
                values[key] = generate(kind)
                generated.append(section + "." + key)
    fd = os.open(path + ".tmp", os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as out:
        json.dump(existing, out, indent=2)
        os.fchmod(out.fileno(), 0o600)
    os.replace(path + ".tmp", path)
    token = existing["gitlab_workhorse"]["secret_token"]
    digest = hashlib.sha256(token.encode()).hexdigest()
    # Chef prints a diff of every file resource not marked sensitive: here one holding a secret.
    sys.stdout.write(
        "Starting Chef Infra Client, version 18.3.0\n"
        'resolving cookbooks for run list: ["gitlab-ee"]\n'
        "Recipe: gitlab::gitlab-workhorse\n"
        "  * file[/var/opt/gitlab/gitlab-workhorse/.gitlab_workhorse_secret] action create\n"
        "    - update content in file /var/opt/gitlab/gitlab-workhorse/.gitlab_workhorse_secret from none to " + digest[:6] + "\n"
        "    --- /var/opt/gitlab/gitlab-workhorse/.gitlab_workhorse_secret\n"
        "    +++ /var/opt/gitlab/gitlab-workhorse/.chef-.gitlab_workhorse_secret20261206-1234-abcd\n"
        "    @@ -1 +1,2 @@\n"
        "    +" + token + "\n"
        "Running handlers complete\n"
        "Chef Infra Client finished, 612/1650 resources updated in 02 minutes 11 seconds\n"
        "gitlab Reconfigured!\n"
    )
    return generated


CURL_PASSTHROUGH = ("169.254.169.254", "127.", "localhost", ".amazonaws.com")


def curl(argv):
    urls = [arg for arg in argv[1:] if "://" in arg]
    url = urls[0] if urls else ""
    host = url.split("://", 1)[-1].split("/", 1)[0].split(":")[0]
    args = argv[1:]
    output = args[args.index("-o") + 1] if "-o" in args and args.index("-o") + 1 < len(args) else None
    if host == "packages.gitlab.com":
        edition = "ee" if "gitlab-ee" in url else "ce"
        return deliver(output, (
            "#!/bin/bash\n"
            "# Stand-in for packages.gitlab.com's script.deb.sh: adds the repository, then apt-get update.\n"
            "echo 'Detected operating system as Ubuntu/noble.'\n"
            "echo 'deb [signed-by=/usr/share/keyrings/gitlab_gitlab-" + edition + "-archive-keyring.gpg] "
            "https://packages.gitlab.com/gitlab/gitlab-" + edition + "/ubuntu/ noble main' "
            "> /etc/apt/sources.list.d/gitlab_gitlab-" + edition + ".list\n"
            "apt-get update\n"
            "echo 'The repository is setup! You can now install packages.'\n"
        ))
    if host == "truststore.pki.rds.amazonaws.com":
        # Amazon RDS's CA bundle: a test CA named as RDS names its own (the harness made it).
        return deliver(output, open(STATE + "/rds-bundle.pem").read())
    if host.startswith(CURL_PASSTHROUGH) or host.endswith(".amazonaws.com"):
        if not os.path.exists(STATE + "/real/curl"):
            sys.stderr.write("curl: the boot rehearsal needs the machine's own curl for " + url + " (apt-get install curl)\n")
            return 2
        os.execv(STATE + "/real/curl", ["curl"] + argv[1:])
    sys.stderr.write("curl: (6) Could not resolve host: " + host + "\n")
    return 6


def deliver(output, text):
    """What curl does with a body: -o writes the file, else stdout."""
    if output:
        with open(output, "w") as out:
            out.write(text)
    else:
        sys.stdout.write(text)
    return 0


def behave(name, argv):
    args = argv[1:]
    if name == "gitlab-ctl" and args[:1] == ["reconfigure"]:
        reconfigure()
    elif name == "apt-get" and "install" in args:
        for package in args[args.index("install") + 1:]:
            base, _, version = package.partition("=")
            if base in ("gitlab-ee", "gitlab-ce"):
                install_gitlab("", base[len("gitlab-"):], version.split("-")[0] or "19.5.1")
                print("Setting up " + base + " (" + (version or "19.5.1-" + base[7:] + ".0") + ") ...")
                print("Thank you for installing GitLab!")
    elif name == "dpkg":
        if args[:1] == ["--print-architecture"]:
            print("amd64")
        elif args[:1] in (["-s"], ["--status"]) and len(args) > 1:
            if not (args[1].startswith("gitlab-") and os.path.exists("/opt/gitlab")):
                sys.stderr.write("dpkg-query: package '" + args[1] + "' is not installed\n")
                return 1
            print("Package: " + args[1] + "\nStatus: install ok installed")
    elif name == "curl":
        return curl(argv)
    elif name == "cloud-init" and args[:1] == ["status"]:
        print("status: running")
    elif name == "psql" or name == "gitlab-psql":
        if "-c" in args:
            for statement in args[args.index("-c") + 1].split(";"):
                if statement.strip():
                    print(statement.strip().split()[0].upper() + " " + statement.strip().split()[1].upper())
    return 0


def main():
    argv = [sys.argv[0]] + sys.argv[1:]
    name = os.path.basename(argv[0])
    extra = {}
    if name == "gitlab-ctl" and argv[1:2] == ["reconfigure"]:
        rb = "/etc/gitlab/gitlab.rb"
        extra["gitlabRb"] = open(rb).read() if os.path.exists(rb) else None
    failure, _ = record(argv, extra)
    if failure:
        sys.stderr.write((failure["message"] or name + ": failed (told to by the rehearsal)") + "\n")
        sys.exit(failure["exitCode"])
    sys.stdout.flush()
    sys.exit(behave(name, argv))


if __name__ == "__main__":
    main()
