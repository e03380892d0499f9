#!/usr/bin/python3
"""Boot rehearsal tests: any SSM operation, signed by the project's own fetcher.

  ssm-call <fetcher file> <Operation> '<json input>' [break-signature|wrong-secret|wrong-region]

Loads the fetcher (/usr/local/sbin/gitlab-aws-ssm-get as the user-data writes it) as a module and
uses its IMDS client and its SigV4 signer, optionally spoilt on purpose. Prints the HTTP status and
the response body. Standard library only.
"""
import datetime
import importlib.machinery
import json
import sys
import urllib.error
import urllib.request

fetcher = importlib.machinery.SourceFileLoader("fetcher", sys.argv[1]).load_module()
operation, payload = sys.argv[2], sys.argv[3]
spoil = sys.argv[4] if len(sys.argv) > 4 else None

token = fetcher.imds("/latest/api/token", None, "PUT", {"X-aws-ec2-metadata-token-ttl-seconds": "300"})
region = fetcher.imds("/latest/meta-data/placement/region", token)
role = fetcher.imds("/latest/meta-data/iam/security-credentials/", token).split()[0]
role_credentials = json.loads(fetcher.imds("/latest/meta-data/iam/security-credentials/" + role, token))
credentials = {"key": role_credentials["AccessKeyId"], "secret": role_credentials["SecretAccessKey"], "token": role_credentials["Token"]}
if spoil == "wrong-secret":
    credentials["secret"] = credentials["secret"][::-1]
host = "ssm." + region + ".amazonaws.com"
body = payload.encode()
headers = fetcher.sign(
    "POST", host, "/", "",
    {"Content-Type": "application/x-amz-json-1.1", "X-Amz-Target": "AmazonSSM." + operation},
    body, credentials, "eu-west-1" if spoil == "wrong-region" else region, "ssm", datetime.datetime.now(datetime.timezone.utc),
)
if spoil == "break-signature":
    authorization = headers["authorization"]
    headers["authorization"] = authorization[:-1] + ("0" if authorization[-1] != "0" else "1")
request = urllib.request.Request("https://" + host + "/", data=body, method="POST", headers=headers)
try:
    with urllib.request.urlopen(request, timeout=10) as response:
        print(response.status, response.read().decode())
except urllib.error.HTTPError as error:
    print(error.code, error.read().decode())
