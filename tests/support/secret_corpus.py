# ruff: noqa: E501
# (each planted value sits on one line, as it would in the file it mimics)
"""A corpus of realistic secrets planted in a real git repository: files of many formats,
commit messages, and diffs that only history holds (a removed script, a rotated key, a
changed password). Private keys are real keys made with `cryptography`; every other
value is random, drawn from a seeded generator, so the corpus is the same on every run.

`Planted.fragments` are what must never reach the index or a dataset: the value itself
and, for keys, a distinctive piece of every line of the body.
"""

from __future__ import annotations

import base64
import json
import random
import string
from dataclasses import dataclass, field

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from git_repo import GitRepo

ALNUM = string.ascii_letters + string.digits
HEX = "0123456789abcdef"
B64 = ALNUM + "+/"


@dataclass(frozen=True)
class Planted:
    kind: str
    value: str
    where: str  # path, or "commit message", or "history: <path>"

    @property
    def fragments(self) -> list[str]:
        if "PRIVATE KEY" not in self.value and "PuTTY" not in self.value:
            return [self.value]
        lines = [ln.strip() for ln in self.value.replace("\\n", "\n").splitlines()]
        body = [ln for ln in lines if ln and not ln.startswith("-----") and ":" not in ln]
        return [ln[8:40] for ln in body if len(ln) >= 40] + [
            ln for ln in body if 16 <= len(ln) < 40
        ]


@dataclass
class Corpus:
    planted: list[Planted] = field(default_factory=list)
    # Lines the filter must leave alone (placeholders, references, ordinary code).
    kept: list[str] = field(default_factory=list)

    def add(self, kind: str, value: str, where: str) -> str:
        self.planted.append(Planted(kind, value, where))
        return value

    @property
    def kinds(self) -> set[str]:
        return {p.kind for p in self.planted}

    def leaks(self, text: str) -> list[Planted]:
        """The planted secrets some fragment of which occurs in `text`."""
        return [p for p in self.planted if any(f in text for f in p.fragments)]


class _Values:
    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)

    def chars(self, alphabet: str, n: int) -> str:
        return "".join(self.rng.choice(alphabet) for _ in range(n))

    def password(self) -> str:
        words = ["Quartz", "Lantern", "Meadow", "Harbor", "Falcon", "Copper", "Violet"]
        return (
            self.rng.choice(words)
            + self.chars(string.digits, 2)
            + self.rng.choice("!#%&*+?@")
            + self.chars(ALNUM, 5)
        )


def _pem(key: object, fmt: serialization.PrivateFormat, password: bytes | None = None) -> str:
    encryption: serialization.KeySerializationEncryption = (
        serialization.BestAvailableEncryption(password)
        if password
        else serialization.NoEncryption()
    )
    encoding = serialization.Encoding.PEM
    return key.private_bytes(encoding, fmt, encryption).decode()  # type: ignore[attr-defined]


def _keys() -> dict[str, str]:
    rsa_key = lambda: rsa.generate_private_key(public_exponent=65537, key_size=2048)  # noqa: E731
    traditional = serialization.PrivateFormat.TraditionalOpenSSL
    pkcs8 = serialization.PrivateFormat.PKCS8
    openssh = serialization.PrivateFormat.OpenSSH
    return {
        "rsa": _pem(rsa_key(), traditional),
        "rsa-rotated": _pem(rsa_key(), traditional),
        "pkcs8": _pem(rsa_key(), pkcs8),
        "gcp": _pem(rsa_key(), pkcs8),
        "ec": _pem(ec.generate_private_key(ec.SECP256R1()), traditional),
        "ed25519-openssh": _pem(ed25519.Ed25519PrivateKey.generate(), openssh),
        "rsa-openssh": _pem(rsa_key(), openssh),
        "encrypted": _pem(ec.generate_private_key(ec.SECP384R1()), pkcs8, b"hunter2"),
    }


def _indent(text: str, prefix: str) -> str:
    return "".join(prefix + line + "\n" for line in text.strip().splitlines())


def plant_corpus(repo: GitRepo, seed: int = 7) -> Corpus:
    """Write the corpus into `repo` over several commits; returns what was planted."""
    v = _Values(seed)
    c = Corpus()
    keys = _keys()
    pw = v.password

    # -- commit 1: the application, with secrets in many formats --------------------
    c.kept += ['API_TOKEN = os.environ["API_TOKEN"]', "PASSWORD_MIN_LENGTH = 12"]
    repo.write(
        "app/settings.py",
        f'''"""Settings of the web application."""

import os

SECRET_KEY = "{c.add("django-secret-key", "django-insecure-" + v.chars(ALNUM + "!@#%^&*(-_=+)", 40), "app/settings.py")}"
DB_PASSWORD = "{c.add("password-in-python", pw(), "app/settings.py")}"
DATABASE_URL = "postgresql://app:{c.add("postgres-url-password", pw(), "app/settings.py")}@db.internal:5432/app"
API_TOKEN = os.environ["API_TOKEN"]
PASSWORD_MIN_LENGTH = 12
STRIPE_KEY = "{c.add("stripe-live-key", "sk_live_" + v.chars(ALNUM, 32), "app/settings.py")}"


def load_settings(env):
    """The settings for one environment."""
    debug = env == "dev"
    return {{"debug": debug, "database": DATABASE_URL}}
''',
    )
    repo.write(
        "app/signing.py",
        f'''WEBHOOK_SIGNING_SECRET = "{c.add("hex-signing-secret", v.chars(HEX, 64), "app/signing.py")}"
session_encryption_key = b"{c.add("base64-encryption-key", v.chars(B64, 43) + "=", "app/signing.py")}"


def sign(payload):
    return hmac_digest(WEBHOOK_SIGNING_SECRET, payload)
''',
    )
    repo.write(
        "app/tls.py",
        f'''"""The TLS key of the internal API."""

PRIVATE_KEY = """{c.add("rsa-private-key", keys["rsa"], "app/tls.py")}"""


def key_bytes():
    return PRIVATE_KEY.encode()
''',
    )
    repo.write(
        "config/app.yaml",
        f"""server:
  port: 8080
database:
  user: app
  password: {c.add("yaml-unquoted-password", "plumbing" + v.chars(string.ascii_lowercase, 8), "config/app.yaml")}
  api_token: {c.add("yaml-hex-token", v.chars(HEX, 40), "config/app.yaml")}
tls:
  key: |
{_indent(c.add("ec-private-key", keys["ec"], "config/app.yaml"), "    ")}""",
    )
    repo.write(
        "config/app.ini",
        f"[database]\nhost = db.internal\npassword = {c.add('ini-password', pw(), 'config/app.ini')}\n"
        f"[smtp]\nsmtp_pass = {c.add('ini-smtp-pass', pw(), 'config/app.ini')}\n",
    )
    repo.write(
        "src/main/resources/application.properties",
        "spring.datasource.url=jdbc:postgresql://db/app\n"
        f"spring.datasource.password={c.add('properties-password', pw(), 'application.properties')}\n"
        f"app.jwt.signing-key={c.add('properties-signing-key', v.chars(B64, 44), 'application.properties')}\n",
    )
    repo.write(
        "deploy/runtime.env",
        f"export AWS_SECRET_ACCESS_KEY={c.add('aws-secret-access-key', v.chars(B64, 40), 'deploy/runtime.env')}\n"
        f"REDIS_PASSWORD={c.add('env-password', pw(), 'deploy/runtime.env')}\n"
        f"GITHUB_TOKEN={c.add('github-token', 'ghp_' + v.chars(ALNUM, 36), 'deploy/runtime.env')}\n"
        f"HF_TOKEN={c.add('huggingface-token', 'hf_' + v.chars(string.ascii_letters, 34), 'deploy/runtime.env')}\n"
        "LOG_LEVEL=info\n",
    )
    aws_id = c.add(
        "aws-access-key-id",
        "AKIA" + v.chars(string.ascii_uppercase + "234567", 16),
        "config/aws.json",
    )
    aws_secret = c.add("json-aws-secret", v.chars(B64, 40), "config/aws.json")
    repo.write(
        "config/aws.json",
        json.dumps({"aws_access_key_id": aws_id, "aws_secret_access_key": aws_secret}, indent=2),
    )
    registry_auth = base64.b64encode(f"deploy:{pw()}".encode()).decode()
    repo.write(
        "deploy/docker-config.json",
        json.dumps(
            {
                "auths": {
                    "registry.example.com": {
                        "auth": c.add("docker-auth", registry_auth, "deploy/docker-config.json")
                    }
                }
            },
            indent=2,
        ),
    )
    repo.write(
        ".yarnrc.yml",
        f"npmAuthToken: {c.add('npm-token', 'npm_' + v.chars(ALNUM, 36), '.yarnrc.yml')}\n",
    )
    repo.write(
        "deploy/npmrc.template",
        f"//registry.npmjs.org/:_authToken={c.add('npm-authtoken-line', 'npm_' + v.chars(ALNUM, 36), 'deploy/npmrc.template')}\n",
    )
    sendgrid = "SG." + v.chars(ALNUM + "_-", 22) + "." + v.chars(ALNUM + "_-", 43)
    repo.write(
        "web/mail.js",
        f"""const sendgridKey = "{c.add("sendgrid-key", sendgrid, "web/mail.js")}";

function send(message) {{
  return post("https://api.sendgrid.com/v3/mail/send", message, sendgridKey);
}}

module.exports = {{ send }};
""",
    )
    account_key = v.chars(B64, 86) + "=="
    repo.write(
        "infra/storage.ts",
        f"""export const connectionString =
  "DefaultEndpointsProtocol=https;AccountName=mochistore;AccountKey={c.add("azure-storage-key", account_key, "infra/storage.ts")};EndpointSuffix=core.windows.net";

export function containerUrl(name: string): string {{
  return `https://mochistore.blob.core.windows.net/${{name}}`;
}}
""",
    )
    repo.write(
        "infra/gcp-service-account.json",
        json.dumps(
            {
                "type": "service_account",
                "project_id": "mochi-demo",
                "private_key_id": c.add(
                    "gcp-private-key-id", v.chars(HEX, 40), "infra/gcp-service-account.json"
                ),
                "private_key": c.add(
                    "gcp-private-key", keys["gcp"], "infra/gcp-service-account.json"
                ),
                "client_email": "indexer@mochi-demo.iam.gserviceaccount.com",
            },
            indent=2,
        ),
    )
    azure_ad = v.chars(ALNUM, 3) + "8Q~" + v.chars(ALNUM + "_~.-", 34)
    repo.write(
        "infra/main.tf",
        f'''provider "azurerm" {{
  client_id     = "00000000-0000-0000-0000-000000000000"
  client_secret = "{c.add("azure-ad-client-secret", azure_ad, "infra/main.tf")}"
}}

provider "digitalocean" {{
  token = "{c.add("digitalocean-token", "dop_v1_" + v.chars(HEX, 64), "infra/main.tf")}"
}}
''',
    )
    repo.write(
        "docs/deploy.md",
        f"""# Deploying

The staging admin password is `{c.add("markdown-prose-password", pw(), "docs/deploy.md")}`.

```sh
curl -H "Authorization: Bearer {c.add("bearer-token", v.chars(ALNUM, 40), "docs/deploy.md")}" https://api.internal/v1/deploy
curl -u deploy:{c.add("curl-user-password", pw(), "docs/deploy.md")} https://ci.internal/job
```

An encrypted key for the backup host:

```
{c.add("encrypted-private-key", keys["encrypted"], "docs/deploy.md")}```

Backups are encrypted to `{c.add("age-secret-key", "AGE-SECRET-KEY-1" + v.chars("QPZRY9X8GF2TVDW0S3JN54KHCE6MUA7L", 58), "docs/deploy.md")}`.
""",
    )
    repo.write(
        "scripts/deploy.sh",
        f"""#!/bin/sh
set -eu
mkdir -p ~/.ssh
cat > ~/.ssh/id_ed25519 <<'EOF'
{c.add("openssh-ed25519-key", keys["ed25519-openssh"], "scripts/deploy.sh")}EOF
PGPASSWORD={c.add("shell-pgpassword", pw(), "scripts/deploy.sh")} psql -h db.internal app < schema.sql
mysql -u root --password={c.add("cli-password-flag", pw(), "scripts/deploy.sh")} app < seed.sql
""",
    )
    repo.write(
        "tests/fixtures/keys.py",
        "TEST_KEY = (\n"
        + "".join(
            f'    "{line}\\n"\n'
            for line in c.add(
                "pkcs8-private-key", keys["pkcs8"], "tests/fixtures/keys.py"
            ).splitlines()
        )
        + ")\n\n\ndef fixture_key():\n    return TEST_KEY\n",
    )
    repo.write(
        "infra/bastion.yaml",
        "bastion:\n  host: bastion.internal\n  ssh_private_key: |\n"
        + _indent(c.add("openssh-rsa-key", keys["rsa-openssh"], "infra/bastion.yaml"), "    "),
    )
    repo.write(
        "web/config.js",
        f"""export const firebaseConfig = {{
  apiKey: "{c.add("google-api-key", "AIza" + v.chars(ALNUM + "_-", 35), "web/config.js")}",
  projectId: "mochi-demo",
}};

export const openai = new OpenAI({{ apiKey: "{c.add("openai-key", "sk-proj-" + v.chars(ALNUM + "_-", 48), "web/config.js")}" }});
""",
    )
    go_dsn_pw = pw()
    repo.write(
        "cmd/server/main.go",
        f"""package main

import "database/sql"

const apiSecret = "{c.add("go-const-secret", v.chars(ALNUM, 32), "cmd/server/main.go")}"

func open() (*sql.DB, error) {{
	return sql.Open("mysql", "root:{c.add("mysql-dsn-password", go_dsn_pw, "cmd/server/main.go")}@tcp(localhost:3306)/app")
}}
""",
    )
    repo.write(
        "src/main/java/App.java",
        f"""public class App {{
    private static final String DB_PASS = "{c.add("java-password", pw(), "App.java")}";

    public static void main(String[] args) {{
        System.out.println(connect(DB_PASS));
    }}
}}
""",
    )
    repo.write(
        "deploy/settings.xml",
        f"""<settings>
  <servers>
    <server>
      <id>internal</id>
      <username>deploy</username>
      <password>{c.add("xml-password", pw(), "deploy/settings.xml")}</password>
    </server>
  </servers>
</settings>
""",
    )
    repo.write(
        "notify/sms.rb",
        f"""TWILIO_AUTH_TOKEN = '{c.add("twilio-auth-token", v.chars(HEX, 32), "notify/sms.rb")}'

def notify(number, text)
  client.messages.create(to: number, body: text)
end
""",
    )
    repo.write(
        "bots/telegram.toml",
        f'bot_token = "{c.add("telegram-bot-token", "7" + v.chars(string.digits, 8) + ":AA" + v.chars(ALNUM + "_-", 33), "bots/telegram.toml")}"\n'
        f'encryption_key = "{c.add("toml-base64-key", v.chars(B64, 44), "bots/telegram.toml")}"\n',
    )
    repo.write(
        ".github/workflows/release.yml",
        f"""name: release
on: push
jobs:
  publish:
    runs-on: ubuntu-latest
    steps:
      - uses: pypa/gh-action-pypi-publish@release/v1
        with:
          user: __token__
          password: {c.add("pypi-token", "pypi-AgEIcHlwaS5vcmc" + v.chars(ALNUM + "_-", 60), ".github/workflows/release.yml")}
          token: ${{{{ secrets.GITHUB_TOKEN }}}}
""",
    )
    c.kept.append("token: ${{ secrets.GITHUB_TOKEN }}")
    slack_path = (
        "T0"
        + v.chars(string.ascii_uppercase + string.digits, 8)
        + "/B0"
        + v.chars(string.ascii_uppercase + string.digits, 8)
        + "/"
        + v.chars(ALNUM, 24)
    )
    repo.write(
        "ops/alerts.yaml",
        f"webhook_url: https://hooks.slack.com/services/{c.add('slack-webhook', slack_path, 'ops/alerts.yaml')}\n"
        f"redis_url: redis://:{c.add('redis-url-password', pw(), 'ops/alerts.yaml')}@cache:6379/0\n",
    )
    basic = base64.b64encode(f"admin:{pw()}".encode()).decode()
    repo.write(
        "api/requests.http",
        f"GET https://api.internal/v1/users\nAuthorization: Basic {c.add('basic-auth-header', basic, 'api/requests.http')}\n",
    )
    repo.write(
        "appsettings.json",
        json.dumps(
            {
                "ConnectionStrings": {
                    "Default": f"Server=tcp:db;Database=app;User Id=sa;Password={c.add('connection-string-password', pw(), 'appsettings.json')};"
                }
            },
            indent=2,
        ),
    )
    repo.write(
        "app/db.js",
        f"""const uri = "mongodb+srv://admin:{c.add("mongodb-url-password", pw(), "app/db.js")}@cluster0.example.mongodb.net/app";

function connect(client) {{
  return client.connect(uri);
}}
""",
    )
    repo.write(
        "ml/claude.py",
        f'''from anthropic import Anthropic

client = Anthropic(api_key="{c.add("anthropic-key", "sk-ant-api03-" + v.chars(ALNUM + "_-", 93) + "AA", "ml/claude.py")}")


def ask(question):
    return client.messages.create(model="claude", messages=[question])
''',
    )
    jwt = (
        ".".join(
            base64.urlsafe_b64encode(json.dumps(part).encode()).decode().rstrip("=")
            for part in ({"alg": "HS256", "typ": "JWT"}, {"sub": v.chars(HEX, 12), "admin": True})
        )
        + "."
        + v.chars(ALNUM + "_-", 43)
    )
    repo.write(
        "tests/test_api.py",
        f'''TOKEN = "{c.add("json-web-token", jwt, "tests/test_api.py")}"


def test_users(client):
    assert client.get("/users", token=TOKEN).ok
''',
    )
    repo.write(
        "shop/client.php",
        f"""<?php
$config = [
    'password' => '{c.add("php-array-password", pw(), "shop/client.php")}',
    'shopify_token' => '{c.add("shopify-token", "shpat_" + v.chars(HEX, 32), "shop/client.php")}',
];
""",
    )
    repo.write(
        "ci/mirror.sh",
        f"git push https://x-access-token:{c.add('github-fine-grained-token', 'github_pat_' + v.chars(ALNUM + '_', 82), 'ci/mirror.sh')}@github.com/acme/mirror.git main\n",
    )
    repo.write(
        "app/math_utils.py",
        '"""Small helpers."""\n\n\ndef compute_total(items):\n    """Sum of the prices."""\n'
        "    total = 0\n    for item in items:\n        total += item.price\n    return total\n",
    )
    c.kept.append("def compute_total(items):")
    repo.commit("Add the application, its configuration and deployment")

    # -- commit 2: a script that only history holds, a token in the message ---------
    repo.write(
        "scripts/old_deploy.sh",
        f"export SLACK_BOT_TOKEN={c.add('slack-bot-token', 'xoxb-' + v.chars(string.digits, 12) + '-' + v.chars(string.digits, 13) + '-' + v.chars(ALNUM, 24), 'history: scripts/old_deploy.sh')}\n"
        f"export MAILGUN_KEY={c.add('mailgun-key', 'key-' + v.chars(HEX, 32), 'history: scripts/old_deploy.sh')}\n",
    )
    gitlab = c.add(
        "gitlab-token-in-message", "glpat-" + v.chars(ALNUM + "_-", 20), "commit message"
    )
    repo.commit(f"Add the old deploy script\n\nCI pushes with the deploy token {gitlab}.")

    # -- commit 3: the script is removed again; the message holds a password ---------
    (repo.root / "scripts/old_deploy.sh").unlink()
    message_pw = c.add("commit-message-password", pw(), "commit message")
    repo.commit(
        f"Remove the old deploy script\n\nThe staging database password is now {message_pw}"
    )

    # -- commit 4: a rotated key and a changed password (the old values: history) ----
    repo.write(
        "app/tls.py",
        (repo.root / "app/tls.py")
        .read_text()
        .replace(keys["rsa"], c.add("rotated-rsa-private-key", keys["rsa-rotated"], "app/tls.py")),
    )
    ini = (repo.root / "config/app.ini").read_text()
    old_ini_pw = next(p.value for p in c.planted if p.kind == "ini-password")
    repo.write(
        "config/app.ini",
        ini.replace(old_ini_pw, c.add("rotated-ini-password", pw(), "config/app.ini")),
    )
    repo.commit("Rotate the TLS key and the database password")

    # -- commit 5: an ordinary change, so that history gives samples -----------------
    repo.write(
        "app/math_utils.py",
        (repo.root / "app/math_utils.py").read_text()
        + '\n\ndef average(items):\n    """Mean price."""\n    count = len(items)\n'
        "    return compute_total(items) / count\n",
    )
    repo.commit("Add average to the math helpers")
    return c
