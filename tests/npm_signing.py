"""URLs and cookies signed by the npm library `aws-cloudfront-sign`, run with the real node.

The library is pinned as a devDependency in package-lock.json (`npm ci` installs it, as for
hls.js). It always signs a custom policy, `Resource` = the URL as given, `DateLessThan` (and
`IpAddress` with `ipRange`), and puts both `Expires` and `Policy` in the URL; its cookies are
`CloudFront-Policy`, `-Signature` and `-Key-Pair-Id`. Keys are RSA in its docs; node signs an
EC key with ECDSA-SHA1 the same way.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization

from streaming.keys import KeyKind
from tests.access import key_id, private_key

ROOT = Path(__file__).resolve().parents[1]
MODULE = ROOT / "node_modules" / "aws-cloudfront-sign"

# One node process signs a batch of jobs: {"kind": "url"|"cookies", "url", "ms", "ip"?}.
SCRIPT = r"""
const sign = require(process.argv[1]);
const batch = JSON.parse(require("fs").readFileSync(0, "utf8"));
const out = batch.jobs.map((job) => {
  const params = { keypairId: batch.keypairId, privateKeyString: batch.pem, expireTime: job.ms };
  if (job.ip) params.ipRange = job.ip;
  return job.kind === "url" ? sign.getSignedUrl(job.url, params)
                            : sign.getSignedCookies(job.url, params);
});
process.stdout.write(JSON.stringify(out));
"""


def npm_sign(jobs: list[dict[str, Any]], name: str = "alice", kind: KeyKind = "rsa") -> list[Any]:
    """Sign each job with the test key `name`; `ms` is the expiry in epoch milliseconds (the
    library's unit, and it refuses a past one)."""
    node = shutil.which("node")
    if node is None or not (MODULE / "package.json").is_file():
        raise RuntimeError("node and node_modules/aws-cloudfront-sign are needed: run `npm ci`")
    pkcs8 = serialization.PrivateFormat.PKCS8
    key = private_key(name, kind)
    pem = key.private_bytes(serialization.Encoding.PEM, pkcs8, serialization.NoEncryption())
    batch = {"keypairId": key_id(name, kind), "pem": pem.decode(), "jobs": jobs}
    done = subprocess.run(
        [node, "-e", SCRIPT, str(MODULE)], input=json.dumps(batch), capture_output=True,
        text=True, timeout=30, check=False,
    )  # fmt: skip
    if done.returncode != 0:
        raise RuntimeError(f"aws-cloudfront-sign failed: {done.stderr.strip()[-500:]}")
    result: list[Any] = json.loads(done.stdout)
    return result
