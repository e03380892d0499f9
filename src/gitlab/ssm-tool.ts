/**
 * /usr/local/sbin/gitlab-aws-ssm: the node's way to Parameter Store, with the instance's role.
 * Python 3's standard library only: python3 is on Ubuntu 24.04 and on the GitLab AMI (cloud-init
 * is written in it), the AWS CLI on neither. IMDSv2 (a PUT token first), the role's credentials
 * from IMDS, the region from AWS_REGION or IMDS, then SigV4-signed SSM calls:
 *   get NAME        prints one parameter's decrypted value
 *   get-many        reads lines `<name> <file>` on stdin and writes each decrypted value to its
 *                   file, 0600 in a 0700 directory (GetParameters, ten names a call)
 *   get-path PATH   prints {name: value} of every parameter below PATH, as JSON
 *   put-many        stores each {name: value} of the JSON on stdin as a SecureString, tagged with
 *                   GITLAB_AWS_TAGS (a JSON tag list) and its Name; one stored already is kept
 * Credentials about to expire, or that AWS says have (ExpiredTokenException), are fetched again
 * from IMDS once; throttling is retried. Errors go to stderr in AWS's own words
 * (AccessDeniedException ...), never a value.
 */
export const SSM_TOOL_PATH = '/usr/local/sbin/gitlab-aws-ssm';

export const SSM_TOOL_PY = String.raw`#!/usr/bin/env python3
"""gitlab-aws: this instance's SSM Parameter Store, read and written with its role."""
import datetime
import hashlib
import hmac
import json
import os
import sys
import time
import urllib.error
import urllib.request

IMDS = "http://169.254.169.254"


def imds(path, token, method="GET", headers=None):
    request = urllib.request.Request(IMDS + path, method=method, headers=headers or {"X-aws-ec2-metadata-token": token})
    with urllib.request.urlopen(request, timeout=5) as response:
        return response.read().decode()


def _hmac(key, message):
    return hmac.new(key, message.encode(), hashlib.sha256).digest()


def signing_key(secret, date, region, service):
    key = _hmac(("AWS4" + secret).encode(), date)
    key = _hmac(key, region)
    key = _hmac(key, service)
    return _hmac(key, "aws4_request")


def sign(method, host, path, query, headers, body, credentials, region, service, now):
    """Signature Version 4: returns the request's headers with x-amz-date and Authorization."""
    amz_date = now.strftime("%Y%m%dT%H%M%SZ")
    date = amz_date[:8]
    signed = {key.lower(): " ".join(str(value).split()) for key, value in headers.items()}
    signed["host"] = host
    signed["x-amz-date"] = amz_date
    if credentials.get("token"):
        signed["x-amz-security-token"] = credentials["token"]
    names = sorted(signed)
    canonical = "\n".join([
        method,
        path,
        query,
        "".join(name + ":" + signed[name] + "\n" for name in names),
        ";".join(names),
        hashlib.sha256(body).hexdigest(),
    ])
    scope = "/".join([date, region, service, "aws4_request"])
    to_sign = "\n".join(["AWS4-HMAC-SHA256", amz_date, scope, hashlib.sha256(canonical.encode()).hexdigest()])
    signature = hmac.new(signing_key(credentials["secret"], date, region, service), to_sign.encode(), hashlib.sha256).hexdigest()
    signed["authorization"] = (
        "AWS4-HMAC-SHA256 Credential=" + credentials["key"] + "/" + scope
        + ", SignedHeaders=" + ";".join(names) + ", Signature=" + signature
    )
    return signed


def utcnow():
    return datetime.datetime.now(datetime.timezone.utc)


class AwsError(Exception):
    def __init__(self, kind, message):
        super().__init__(kind + ": " + message)
        self.kind = kind


class Role:
    """The instance role's credentials from IMDS; fetched again when they are about to expire."""

    def __init__(self):
        self.credentials = None
        self.region = os.environ.get("AWS_REGION")

    def get(self, fresh=False):
        if fresh or self.credentials is None or self.expiring():
            token = imds("/latest/api/token", None, "PUT", {"X-aws-ec2-metadata-token-ttl-seconds": "300"})
            self.region = self.region or imds("/latest/meta-data/placement/region", token)
            name = imds("/latest/meta-data/iam/security-credentials/", token).split()[0]
            role = json.loads(imds("/latest/meta-data/iam/security-credentials/" + name, token))
            self.credentials = {
                "key": role["AccessKeyId"],
                "secret": role["SecretAccessKey"],
                "token": role.get("Token"),
                "expiration": role.get("Expiration"),
            }
        return self.credentials

    def expiring(self):
        expiration = self.credentials.get("expiration")
        if not expiration:
            return False
        at = datetime.datetime.strptime(expiration, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=datetime.timezone.utc)
        return at - utcnow() < datetime.timedelta(minutes=5)


def call(role, operation, payload):
    """One SSM call; an expired credential is replaced once, throttling retried with backoff."""
    refreshed = False
    for attempt in range(6):
        credentials = role.get()
        host = "ssm." + role.region + ".amazonaws.com"
        body = json.dumps(payload).encode()
        headers = sign(
            "POST", host, "/", "",
            {"Content-Type": "application/x-amz-json-1.1", "X-Amz-Target": "AmazonSSM." + operation},
            body, credentials, role.region, "ssm", utcnow(),
        )
        request = urllib.request.Request("https://" + host + "/", data=body, method="POST", headers=headers)
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                return json.loads(response.read())
        except urllib.error.HTTPError as error:
            try:
                answer = json.loads(error.read())
            except ValueError:
                answer = {}
            kind = str(answer.get("__type", "HTTP " + str(error.code))).split("#")[-1]
            message = answer.get("message") or answer.get("Message") or ""
            if kind == "ExpiredTokenException" and not refreshed:
                refreshed = True
                role.get(fresh=True)
                continue
            if kind in ("ThrottlingException", "ThrottledException") or error.code >= 500:
                time.sleep(min(2 ** attempt, 20))
                continue
            raise AwsError(kind, message)
    raise AwsError(kind, message)


def get_path(role, path):
    values, token = {}, None
    while True:
        payload = {"Path": path, "Recursive": True, "WithDecryption": True, "MaxResults": 10}
        if token:
            payload["NextToken"] = token
        page = call(role, "GetParametersByPath", payload)
        values.update({p["Name"]: p["Value"] for p in page.get("Parameters", [])})
        token = page.get("NextToken")
        if not token:
            return values


def get_many(role, lines):
    wanted = dict(line.split(" ", 1) for line in lines if line.strip())
    names, values = sorted(wanted), {}
    for start in range(0, len(names), 10):
        answer = call(role, "GetParameters", {"Names": names[start:start + 10], "WithDecryption": True})
        if answer.get("InvalidParameters"):
            raise AwsError("ParameterNotFound", "Parameters not found: " + ", ".join(answer["InvalidParameters"]))
        values.update({p["Name"]: p["Value"] for p in answer.get("Parameters", [])})
    for name in names:
        path = wanted[name].strip()
        os.makedirs(os.path.dirname(path), mode=0o700, exist_ok=True)
        fd = os.open(path + ".tmp", os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as out:
            out.write(values[name])
        os.replace(path + ".tmp", path)


def put_many(role, values):
    tags = json.loads(os.environ.get("GITLAB_AWS_TAGS", "[]"))
    for name, value in sorted(values.items()):
        try:
            call(role, "PutParameter", {
                "Name": name, "Value": value, "Type": "SecureString", "Tier": "Intelligent-Tiering",
                "Tags": tags + [{"Key": "Name", "Value": name}],
            })
            print("gitlab-aws: stored " + name)
        except AwsError as error:
            if error.kind != "ParameterAlreadyExists":
                raise


def main():
    command, role = sys.argv[1], Role()
    try:
        if command == "get":
            sys.stdout.write(call(role, "GetParameter", {"Name": sys.argv[2], "WithDecryption": True})["Parameter"]["Value"])
        elif command == "get-many":
            get_many(role, sys.stdin.read().splitlines())
        elif command == "get-path":
            sys.stdout.write(json.dumps(get_path(role, sys.argv[2])))
        elif command == "put-many":
            put_many(role, json.loads(sys.stdin.read()))
        else:
            raise AwsError("Usage", "get NAME | get-many < '<name> <file>' lines | get-path PATH | put-many < {name: value}")
    except AwsError as error:
        sys.stderr.write("gitlab-aws: " + command + " " + " ".join(sys.argv[2:]) + ": " + str(error) + "\n")
        sys.exit(1)


if __name__ == "__main__":
    main()
`;
