/**
 * /usr/local/sbin/gitlab-aws-ssm-get: prints one SSM parameter's decrypted value, read with the
 * instance's role. Python 3's standard library only: python3 is on Ubuntu 24.04 and on the GitLab
 * AMI (cloud-init is written in it), the AWS CLI on neither. IMDSv2 (a PUT token first), the role's
 * credentials from IMDS, the region from AWS_REGION or IMDS, then a SigV4-signed
 * AmazonSSM.GetParameter with decryption. Errors go to stderr with AWS's own words
 * (AccessDeniedException ...), never the value.
 */
export const SSM_GET_PATH = '/usr/local/sbin/gitlab-aws-ssm-get';

export const SSM_GET_PY = String.raw`#!/usr/bin/env python3
"""gitlab-aws: print one SSM parameter's decrypted value, read with this instance's role."""
import datetime
import hashlib
import hmac
import json
import os
import sys
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


def main():
    name = sys.argv[1]
    token = imds("/latest/api/token", None, "PUT", {"X-aws-ec2-metadata-token-ttl-seconds": "300"})
    region = os.environ.get("AWS_REGION") or imds("/latest/meta-data/placement/region", token)
    role = imds("/latest/meta-data/iam/security-credentials/", token).split()[0]
    role_credentials = json.loads(imds("/latest/meta-data/iam/security-credentials/" + role, token))
    credentials = {
        "key": role_credentials["AccessKeyId"],
        "secret": role_credentials["SecretAccessKey"],
        "token": role_credentials.get("Token"),
    }
    host = "ssm." + region + ".amazonaws.com"
    body = json.dumps({"Name": name, "WithDecryption": True}).encode()
    headers = sign(
        "POST", host, "/", "",
        {"Content-Type": "application/x-amz-json-1.1", "X-Amz-Target": "AmazonSSM.GetParameter"},
        body, credentials, region, "ssm", datetime.datetime.now(datetime.timezone.utc),
    )
    request = urllib.request.Request("https://" + host + "/", data=body, method="POST", headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            value = json.loads(response.read())["Parameter"]["Value"]
    except urllib.error.HTTPError as error:
        sys.stderr.write("gitlab-aws: GetParameter " + name + ": " + error.read().decode(errors="replace") + "\n")
        sys.exit(1)
    sys.stdout.write(value)


if __name__ == "__main__":
    main()
`;
