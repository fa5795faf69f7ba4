"""The secret filter: what it finds, what it leaves alone, how it redacts, and the
`[secrets]` configuration. Secret values are drawn at run time, so this file holds none."""

from __future__ import annotations

import random
import string
import time
from pathlib import Path

import pytest
from git_repo import GitRepo
from hashing_embedder import HashingEmbedder

from mochi.rag.config import ConfigError, RagConfig, SecretsConfig, load_workspace_config
from mochi.rag.index import open_workspace_index
from mochi.rag.secrets import REDACTED, secret_filter
from mochi.rag.sources import GitHistorySource

_RNG = random.Random(3)
ALNUM = string.ascii_letters + string.digits


def tok(n: int, alphabet: str = ALNUM) -> str:
    return "".join(_RNG.choice(alphabet) for _ in range(n))


def pw() -> str:
    return "Kestrel" + tok(2, string.digits) + "#" + tok(5)


def b64_lines(count: int, width: int = 64) -> list[str]:
    return [tok(width, ALNUM + "+/") for _ in range(count)]


# (text with {s} where the secret goes, the secret, the document's path)
FOUND = [
    ('SECRET_KEY = "{s}"', "django-insecure-" + tok(30), "settings.py"),
    ('DB_PASSWORD = "{s}"', pw(), "settings.py"),
    ('dbPassword: str = "{s}"', pw(), "app.ts"),
    ('os.environ["API_TOKEN"] = "{s}"', tok(32), "conftest.py"),
    ('apiSecret := "{s}"', tok(32), "main.go"),
    ("password: {s}", "plumbing" + tok(6, string.ascii_lowercase), "config.yaml"),
    ("smtp_pass = {s}", pw(), "app.ini"),
    ("spring.datasource.password={s}", pw(), "application.properties"),
    ("export AWS_SECRET_ACCESS_KEY={s}", tok(40, ALNUM + "+/"), "deploy.sh"),
    ('"aws_secret_access_key": "{s}"', tok(40, ALNUM + "+/"), "aws.json"),
    ('{{"auth": "{s}"}}', "ZGVwbG95Ok" + tok(20), "config.json"),
    ("npmAuthToken: {s}", "npm_" + tok(36), ".yarnrc.yml"),
    ("//registry.npmjs.org/:_authToken={s}", "npm_" + tok(36), "npmrc.template"),
    ("token = {s}", "hf_" + tok(34, string.ascii_letters), "hub.cfg"),
    ("SENDGRID = '{s}'", "SG." + tok(22) + "." + tok(43), "mail.py"),
    ("AccountName=x;AccountKey={s};EndpointSuffix=core.windows.net", tok(86) + "==", "a.cs"),
    ('"private_key_id": "{s}"', tok(40, "0123456789abcdef"), "sa.json"),
    ("WEBHOOK_SIGNING_KEY = '{s}'", tok(64, "0123456789abcdef"), "hooks.rb"),
    ("db = 'postgresql://app:{s}@db.internal/app'", pw(), "db.py"),
    ("REDIS_URL=redis://:{s}@cache:6379/0", pw(), "compose.yaml"),
    ('sql.Open("mysql", "root:{s}@tcp(db:3306)/app")', pw(), "main.go"),
    ("Server=tcp:db;User Id=sa;Password={s};", pw(), "appsettings.json"),
    ("The staging admin password is `{s}`.", pw(), "docs/deploy.md"),
    ("Rotate the database password to {s}", pw(), "git:0123abcd"),
    ("Log in with password '{s}' first.", pw(), "notes.txt"),
    ("<password>{s}</password>", pw(), "settings.xml"),
    ("'password' => '{s}',", pw(), "config.php"),
    ("mysql -u root --password={s} app", pw(), "Makefile"),
    ("Authorization: Basic {s}", "YWRtaW46" + tok(16), "requests.http"),
    ('curl -H "Authorization: Bearer {s}" https://x', tok(40), "README.md"),
    ("curl -u deploy:{s} https://ci.internal", pw(), "ci.sh"),
    ("key = {s}", "AKIA" + tok(16, string.ascii_uppercase + "234567"), "aws.txt"),
    ("GITHUB_TOKEN={s}", "ghp_" + tok(36), "ci.env.sample"),
    ("git push https://x:{s}@github.com/a/b", "github_pat_" + tok(82, ALNUM + "_"), "m.sh"),
    ("token: {s}", "glpat-" + tok(20), "ci.yml"),
    ("SLACK={s}", "xoxb-" + tok(12, string.digits) + "-" + tok(24), "slack.env.sample"),
    ("stripe = '{s}'", "sk_live_" + tok(32), "pay.py"),
    ("k = '{s}'", "AIza" + tok(35), "maps.js"),
    ("OPENAI = '{s}'", "sk-proj-" + tok(48), "ai.py"),
    ("c = Anthropic(api_key='{s}')", "sk-ant-api03-" + tok(93) + "AA", "ai.py"),
    ("t = '{s}'", "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0." + tok(43), "t.py"),
    ("bot_token = '{s}'", "7" + tok(8, string.digits) + ":AA" + tok(33), "bot.toml"),
    ("password: {s}", "pypi-AgEIcHlwaS5vcmc" + tok(60), "release.yml"),
    (
        "url: https://hooks.slack.com/services/{s}",
        "T0" + tok(8) + "/B0" + tok(8) + "/" + tok(24),
        "alerts.yaml",
    ),
    ("client_secret = '{s}'", tok(3) + "8Q~" + tok(34), "main.tf"),
    ("token = '{s}'", "dop_v1_" + tok(64, "0123456789abcdef"), "do.tf"),
    ("shopify = '{s}'", "shpat_" + tok(32, "0123456789abcdef"), "shop.py"),
    ("recipient: {s}", "AGE-SECRET-KEY-1" + tok(58, "QPZRY9X8GF2TVDW0S3JN54KHCE6MUA7L"), "age.yml"),
]


@pytest.mark.parametrize(("template", "secret", "path"), FOUND)
def test_each_kind_of_secret_is_found_and_redacted(template: str, secret: str, path: str) -> None:
    text = template.format(s=secret)
    redacted = secret_filter().redact(text, path)
    assert secret not in redacted.text and REDACTED in redacted.text
    assert redacted.text == template.format(s=REDACTED)  # only the secret is replaced


LEFT_ALONE = [
    ('API_TOKEN = os.environ["API_TOKEN"]', "settings.py"),
    ('password = ""', "settings.py"),
    ("password: str", "models.py"),
    ("password: str = field(default='')", "models.py"),
    ("token = self._tokenizer.encode(text)", "model.py"),
    ("secret_key = settings.SECRET_KEY", "app.py"),
    ('headers = {"Authorization": f"Bearer {api_key}"}', "client.py"),
    ('api_key: "<your-key>"', "config.yaml"),
    ("password: ${DB_PASSWORD}", "compose.yaml"),
    ("token: ${{ secrets.GITHUB_TOKEN }}", "ci.yml"),
    ("password: changeme", "config.yaml"),
    ('SECRET_KEY = "xxxxxxxxxxxxxxxx"', "settings.py"),
    ("PASSWORD=$(cat /run/secrets/db)", "entry.sh"),
    ("password = {{ vault_db_password }}", "app.ini"),
    ("db_password_file: /run/secrets/db", "config.yaml"),
    ("max_tokens = 512", "gen.py"),
    ("cache_key = 'v2-embeddings-batch-0001'", "cache.py"),
    ("eos_token = '<|endoftext|>'", "tok.py"),
    ("public_key = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGx'", "keys.py"),
    ("The token is written to ~/.local/share/mochi/token.", "README.md"),
    ("Pass the token to parse_config2() and check the password is required.", "docs/a.md"),
    ("A password: at least 12 characters.", "docs/a.md"),
    ("secrets: SecretsConfig = field(default_factory=SecretsConfig)", "schema.py"),
    ('skips.add("secret_file", key)', "indexer.py"),
    ('for word in ("passwd", "private", "secret"):', "names.py"),
    ("postgresql://app:${DB_PASSWORD}@db/app", "compose.yaml"),
    ("sha = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855'", "hashes.py"),
]


@pytest.mark.parametrize(("text", "path"), LEFT_ALONE)
def test_placeholders_references_and_words_are_left_alone(text: str, path: str) -> None:
    assert secret_filter().redact(text, path).text == text


def _pem(kind: str, body: list[str]) -> str:
    return "\n".join([f"-----BEGIN {kind}-----", *body, f"-----END {kind}-----"])


def test_a_key_block_is_redacted_whole_and_the_lines_keep_their_numbers() -> None:
    body = [*b64_lines(25), tok(24) + "=="]
    text = f'def f():\n    return 1\n\nKEY = """{_pem("RSA PRIVATE KEY", body)}"""\n\nX = 2\n'
    redacted = secret_filter().redact(text, "tls.py")
    assert not any(line[5:30] in redacted.text for line in body)
    assert redacted.text.count("\n") == text.count("\n")
    assert redacted.text.splitlines()[-1] == "X = 2"
    assert secret_filter().redact(redacted.text, "tls.py").text == redacted.text  # idempotent


@pytest.mark.parametrize(
    "wrap",
    [
        lambda pem: '"private_key": "' + pem.replace("\n", "\\n") + '\\n",',  # JSON value
        lambda pem: "".join(f'    "{line}\\n"\n' for line in pem.splitlines()),  # concatenated
        lambda pem: "key: |\n" + "".join(f"  {line}\n" for line in pem.splitlines()),  # YAML
        lambda pem: "".join(f"+{line}\n" for line in pem.splitlines()),  # an added file
    ],
)
def test_key_blocks_are_found_however_they_are_written(wrap: object) -> None:
    body = b64_lines(6, 70)
    pem = _pem("OPENSSH PRIVATE KEY", body)
    text = wrap(pem)  # type: ignore[operator]
    redacted = secret_filter().redact(text, "key.json").text
    assert not any(line[8:40] in redacted for line in body)


def test_a_key_cut_short_and_a_rotated_key_body_are_redacted() -> None:
    body = b64_lines(8)
    begin = "-----BEGIN " + "PRIVATE KEY-----"  # split: this file holds no key header
    truncated = "+" + "\n+".join([begin, *body[:5]])
    truncated += "\n[diff truncated]\n"
    rotated = "--- app/tls.py\n" + "".join(
        f"-{a}\n+{b}\n" for a, b in zip(body, b64_lines(8), strict=True)
    )
    secrets = secret_filter()
    assert not any(line in secrets.redact(truncated, "git:1").text for line in body)
    assert secrets.redact(truncated, "git:1").text.endswith("[diff truncated]\n")
    assert not any(line[8:40] in secrets.redact(rotated, "git:2").text for line in body)


def test_certificates_and_public_keys_are_not_secrets() -> None:
    text = _pem("CERTIFICATE", b64_lines(10)) + "\n" + _pem("PUBLIC KEY", b64_lines(5))
    assert secret_filter().redact(text, "ca.pem.txt").text == text


def test_the_secrets_configuration_still_applies(tmp_path: Path) -> None:
    (tmp_path / ".mochi.toml").write_text(
        '[secrets]\nextra_paths = ["*.tfvars"]\nextra_patterns = ["MYCO-[0-9a-f]{32}"]\n'
    )
    config = load_workspace_config(RagConfig, tmp_path, environ={})
    secrets = secret_filter(config.secrets)
    assert secrets.is_secret_path("infra/prod.tfvars") and secrets.is_secret_path(".env")
    token = "MYCO-" + tok(32, "0123456789abcdef")
    found = list(secrets.findings(f"key: {token}\n", "x.txt"))
    assert [f.rule for f in found] == ["secrets.extra_patterns[0]"]
    with pytest.raises(ConfigError, match=r"secrets\.extra_patterns\[1\].*bad regex"):
        secret_filter(SecretsConfig(extra_patterns=["ok", "(unclosed"]))


def test_history_hides_secret_files_and_the_index_redacts_commit_subjects(
    git_repo: GitRepo, tmp_path: Path, hashing_embedder: HashingEmbedder
) -> None:
    plain = "LOG_FORMAT=" + tok(12, string.ascii_lowercase)  # no rule would catch it
    git_repo.write(".env", plain + "\n")
    git_repo.write("main.py", "def main():\n    return 0\n")
    token = "ghp_" + tok(36)
    sha = git_repo.commit(f"Mirror with {token}")
    secrets = secret_filter()
    doc = GitHistorySource(git_repo.root, hidden=secrets.is_secret_path).load(f"git:{sha}", None)  # type: ignore[arg-type]
    assert doc is not None and "(secret file: diff not shown)" in doc.text
    assert plain not in doc.text and "+def main():" in doc.text
    config = RagConfig(data_dir=str(tmp_path / "data"))
    with open_workspace_index(git_repo.root, config, embedder=hashing_embedder) as index:
        report = index.sync()
        payloads = index.store.get_payloads(list(index.store.iter_ids()))
    commit = next(p for p in payloads.values() if p["source"] == "commit")
    assert commit["title"] == f"Mirror with {REDACTED}"
    assert token not in str(payloads) and plain not in str(payloads)
    assert report.secrets_redacted == 2 and report.redacted_examples == [f"git:{sha}"]
    assert "2 secrets redacted" in report.summary()


@pytest.mark.parametrize(
    "line",
    ["password=" * 25_000, "api_key = " * 25_000, 'token="' * 25_000, "the password for " * 15_000],
)
def test_a_line_of_thousands_of_secret_names_takes_linear_time(line: str) -> None:
    started = time.perf_counter()
    secret_filter().redact(line, "app.cfg")
    assert time.perf_counter() - started < 10  # a quadratic scan takes minutes here
