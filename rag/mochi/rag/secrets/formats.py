"""Credentials recognisable by their own format, wherever they appear.

The formats are the ones the vendors publish and that gitleaks (config/gitleaks.toml,
v8.x) and detect-secrets (1.5, detect_secrets/plugins/) catalogue; the patterns are
written for this table. Each pattern starts with a literal where it can, which lets the
regex engine jump from one occurrence of it to the next (the table is scanned over every
document and chunk). `group` is the secret part of a match; a rule with `word_start`
needs its token to start a word; `lower` rules match the lower-cased text (case does not
matter for them); `check`, when set, must accept the secret.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from mochi.rag.secrets.values import (
    entropy,
    is_placeholder,
    is_reference,
    is_template,
    looks_like_password,
)


@dataclass(frozen=True, slots=True)
class TokenRule:
    id: str
    pattern: re.Pattern[str]
    group: int = 0
    word_start: bool = False
    lower: bool = False
    keyword: str = ""  # when set, the rule runs only on a text that holds it
    check: Callable[[str], bool] | None = None


def _rule(
    id: str,
    pattern: str,
    *,
    group: int = 0,
    word_start: bool = False,
    lower: bool = False,
    check: Callable[[str], bool] | None = None,
) -> TokenRule:
    return TokenRule(id, re.compile(pattern), group, word_start, lower, "", check)


def _word(id: str, pattern: str, *, keyword: str = "") -> TokenRule:
    """A token that starts a word (as after `\\b`), found by its own shape."""
    return TokenRule(id, re.compile(pattern), word_start=True, keyword=keyword)


def _filled(value: str) -> bool:
    return not is_template(value)


def _token(value: str) -> bool:
    return not is_placeholder(value) and entropy(value) >= 3.0


def _password(value: str) -> bool:
    return looks_like_password(value, prose=False) and not is_reference(value)


_END = r"(?![A-Za-z0-9_])"  # a token ends where its alphabet ends

TOKEN_RULES: tuple[TokenRule, ...] = (
    # cloud providers
    _word("aws-access-key-id", rf"A(?:KIA|SIA|BIA|CCA|3T[A-Z0-9])[A-Z0-9]{{16}}{_END}"),
    _rule("azure-storage-key", r"accountkey[ \t]*=[ \t]*([a-z0-9+/]{40,}={0,2})", group=1,
          lower=True),
    _rule("azure-shared-access-key", r"sharedaccesskey[ \t]*=[ \t]*([a-z0-9+/]{20,}={0,2})",
          group=1, lower=True),
    _rule("azure-sas-signature", r"sig=([a-z0-9%+/]{30,}={0,2})", group=1, lower=True),
    _word("azure-ad-client-secret", rf"[A-Za-z0-9_~.]{{3}}\dQ~[A-Za-z0-9_~.-]{{31,34}}{_END}",
          keyword="Q~"),
    _word("google-api-key", rf"AIza[0-9A-Za-z_-]{{35}}{_END}"),
    _word("google-oauth-client-secret", r"GOCSPX-[A-Za-z0-9_-]{28}"),
    _word("google-oauth-access-token", r"ya29\.[A-Za-z0-9_-]{30,}"),
    _word("digitalocean-token", rf"do[opr]_v1_[a-f0-9]{{64}}{_END}"),
    _word("databricks-token", rf"dapi[a-f0-9]{{32}}(?:-\d)?{_END}"),
    # code hosting, packages, CI
    _word("github-token", rf"gh[pousr]_[A-Za-z0-9]{{36,255}}{_END}"),
    _word("github-fine-grained-token", r"github_pat_[A-Za-z0-9_]{22,255}"),
    _word("gitlab-token", r"gl(?:pat|dt|ptt|rt|cbt|soat|ft|imt|agent|oas)-[A-Za-z0-9_-]{20,}"),
    _word("gitlab-runner-token", r"GR1348941[A-Za-z0-9_-]{20,}"),
    _word("npm-token", rf"npm_[A-Za-z0-9]{{36}}{_END}"),
    _word("pypi-token", r"pypi-AgEIcHlwaS5vcmc[A-Za-z0-9_-]{50,}"),
    _word("atlassian-token", r"ATATT3[A-Za-z0-9_=-]{100,}"),
    _word("postman-key", r"PMAK-[a-f0-9]{24}-[a-f0-9]{34}"),
    _word("vault-token", r"hv[sb]\.[A-Za-z0-9_-]{24,}"),
    _word("doppler-token", r"dp\.(?:pt|st|sa|ct|scim|audit)\.[A-Za-z0-9]{40,}"),
    _word("grafana-token", r"gl(?:c_[A-Za-z0-9+/]{32,}={0,2}|sa_[A-Za-z0-9]{32}_[A-Fa-f0-9]{8})"),
    _word("linear-key", r"lin_api_[A-Za-z0-9]{40}"),
    _word("new-relic-key", r"NRAK-[A-Z0-9]{27}"),
    # AI and messaging services
    _word("openai-or-anthropic-key",
          r"sk-(?:proj-|svcacct-|admin-|ant-(?:api|admin)\d{2}-)?[A-Za-z0-9_-]{32,}"),
    _word("huggingface-token", rf"hf_[A-Za-z0-9]{{30,}}{_END}"),
    _word("huggingface-token", rf"api_org_[A-Za-z0-9]{{30,}}{_END}"),
    _word("sendgrid-key", r"SG\.[A-Za-z0-9_-]{16,32}\.[A-Za-z0-9_-]{16,64}"),
    _word("slack-token", r"x(?:ox[abposre]-[A-Za-z0-9-]{10,}|app-\d-[A-Za-z0-9-]{20,})"),
    _rule("slack-webhook",
          r"hooks\.slack\.com/(?:services|workflows|triggers)/([A-Za-z0-9+/_-]{20,200})", group=1),
    _rule("discord-webhook", r"discord(?:app)?\.com/api/webhooks/\d+/([A-Za-z0-9_-]{50,})",
          group=1),
    _word("telegram-bot-token", rf"\d{{8,10}}:AA[A-Za-z0-9_-]{{33}}{_END}", keyword=":AA"),
    _word("twilio-api-key", rf"SK[0-9a-fA-F]{{32}}{_END}"),
    _word("mailgun-key", rf"key-[0-9a-f]{{32}}{_END}"),
    _word("mailchimp-key", rf"[0-9a-f]{{32}}-us\d{{1,2}}{_END}", keyword="-us"),
    # payments and shops
    _word("stripe-key", r"sk_(?:live|test|prod)_[A-Za-z0-9]{20,}"),
    _word("stripe-key", r"rk_(?:live|test|prod)_[A-Za-z0-9]{20,}"),
    _word("stripe-webhook-secret", r"whsec_[A-Za-z0-9+/=]{24,}"),
    _word("square-token", r"sq0(?:atp|csp)-[0-9A-Za-z_-]{22,43}"),
    _word("shopify-token", rf"shp(?:at|ca|pa|ss)_[a-fA-F0-9]{{32}}{_END}"),
    # generic shapes
    _word("json-web-token", r"eyJ[A-Za-z0-9_-]{10,}\.eyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}"),
    _rule("age-secret-key", r"AGE-SECRET-KEY-1[QPZRY9X8GF2TVDW0S3JN54KHCE6MUA7L]{58}"),
    _rule("url-credentials", r"://[^/\s:@'\"`]{0,80}:([^/\s@'\"`]{1,200})@[\w.\[\]-]+",
          group=1, check=_filled),
    _rule("mysql-dsn-password", r":([^@\s/'\"`:]{1,200})@(?:tcp|unix|udp)\(", group=1,
          check=_filled),
    _rule("connection-string-password",
          r"p(?:assword|wd)[ \t]*=[ \t]*([^;\"'\n]{1,200}?)[ \t]*;", group=1, lower=True,
          check=_password, word_start=True),
    _rule("connection-string-password",
          r";[ \t]*p(?:assword|wd)[ \t]*=[ \t]*([^;\"'\n]{1,200}?)[ \t]*(?:[\"'\n]|$)", group=1,
          lower=True, check=_password),
    _rule("authorization-header",
          r"authorization[\"']?[ \t]*[:=,][ \t]*[\"']?(?:bearer|basic|token|digest)[ \t]+"
          r"([a-z0-9._~+/-]{12,}={0,2})", group=1, lower=True, check=_token),
    _rule("bearer-token", r"bearer[ \t]+([a-z0-9._~+/-]{20,}={0,2})", group=1, lower=True,
          check=_token),
    _rule("curl-user-password",
          r"curl\b[^\n]{0,300}?[ \t](?:-u|--user)[ \t=]+[\"']?[^:\s\"']{1,80}:([^\s\"']{1,200})",
          group=1, check=_filled),
)  # fmt: skip
