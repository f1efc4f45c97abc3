"""Keyword rules: the tenant's KeywordRule rows per kind, or the built-in ones while it has none.

Tried by position; the first rule with a keyword in the lower-cased subject and message wins.
Chinese keywords match as substrings, Latin ones at the start of a word ("refund" matches
"refunded", "api" does not match "capital"). Confidence is a fixed 0.6 / 0.75 / 0.9 for one /
two / three or more distinct keywords of the winning rule; the keywords found are its "words".
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from ..models import KeywordRule
from .base import (
    KINDS,
    MAX_TEXT,
    RULE_CONFIDENCE,
    SOURCE_RULES,
    TOP_WORDS,
    TOPIC,
    TYPE,
    Classification,
)


@dataclass(frozen=True)
class Rule:
    label: str
    keywords: tuple[str, ...]


BUILTIN_RULES: dict[str, tuple[Rule, ...]] = {
    TYPE: (
        Rule("complaint", (
            "complaint", "complain", "unacceptable", "not acceptable", "disappointed",
            "disappointing", "terrible", "awful", "worst", "ridiculous", "rude", "furious",
            "outrageous", "fed up", "poor service", "disgusting", "never again", "shocking",
            "投诉", "太差", "差评", "不满意", "很不满", "态度恶劣", "态度差", "态度很差", "失望",
            "坑人", "骗子", "垃圾", "给个说法", "忍无可忍", "举报", "气死", "无语",
        )),
        Rule("suggestion", (
            "suggest", "feature request", "would be nice", "would be great", "it would help",
            "please add", "could you add", "consider adding", "would love", "wish list",
            "improvement", "idea:",
            "建议", "希望增加", "希望能", "希望支持", "能不能增加", "能否增加", "增加一个",
            "就好了", "提个意见", "改进", "优化一下",
        )),
        Rule("inquiry", (
            "how do i", "how can i", "how to", "how long", "is it possible", "can i", "do you",
            "does it", "is there", "where can", "where is", "what is", "when will", "question",
            "please advise", "could you tell", "?",
            "请问", "怎么", "如何", "能不能", "有没有", "是不是", "多久", "哪里", "什么时候",
            "咨询", "想问", "可以吗", "？",
        )),
        Rule("other", (
            "out of office", "automatic reply", "auto-reply", "unsubscribe", "newsletter",
            "partnership", "job application", "advertising",
            "自动回复", "退订", "商务合作", "简历", "应聘", "广告", "推广",
        )),
    ),
    TOPIC: (
        Rule("billing", (
            "invoice", "refund", "charged", "charge", "payment", "billing", "subscription",
            "vat", "receipt", "credit card", "paid",
            "发票", "退款", "扣款", "扣费", "扣了", "支付", "付款", "续费", "账单", "退钱", "税号",
            "订阅",
        )),
        Rule("shipping", (
            "delivery", "deliver", "parcel", "courier", "tracking", "shipped", "shipping",
            "package", "arrive", "return label", "exchange", "wrong size", "address",
            "物流", "快递", "发货", "包裹", "收货", "配送", "签收", "单号", "到货", "退货", "换货",
            "地址",
        )),
        Rule("account", (
            "log in", "login", "sign in", "password", "account", "two-factor", "2fa",
            "verification code", "locked out", "username", "single sign-on", "sso", "gdpr",
            "personal data",
            "登录", "密码", "账号", "账户", "验证码", "注销", "两步验证", "登不上", "个人信息",
        )),
        Rule("technical", (
            "error", "bug", "crash", "api", "not working", "doesn't work", "slow", "500", "429",
            "broken", "freeze", "export", "app",
            "报错", "闪退", "故障", "接口", "打不开", "很慢", "卡顿", "错误", "崩溃", "无法使用",
            "加载",
        )),
        Rule("product", (
            "warranty", "feature", "dark mode", "product", "battery", "charging", "manual",
            "compatible", "model",
            "保修", "功能", "产品", "电池", "充电", "说明书", "兼容", "夜间模式", "型号",
        )),
        Rule("sales", (
            "discount", "quote", "pricing", "bulk", "volume", "units", "wholesale",
            "purchase order", "reseller", "price",
            "优惠", "报价", "采购", "团购", "价格", "批量", "折扣", "代理", "多少钱",
        )),
    ),
}  # fmt: skip


_SPACES = re.compile(r"\s+")


_CJK = re.compile(r"[\u3000-\u9fff\uff00-\uffef]")


def normalise(text: str) -> str:
    """Lower-cased, curly apostrophes straightened, runs of white space made one space."""
    return _SPACES.sub(" ", text.lower().replace("\u2019", "'")).strip()


@lru_cache(maxsize=512)
def _compiled(rules: tuple[Rule, ...]) -> tuple[tuple[Rule, tuple[tuple[str, Any], ...]], ...]:
    """Each rule with its keywords and, for Latin ones, a word-start pattern."""
    out = []
    for rule in rules:
        matchers = []
        for keyword in rule.keywords:
            word = normalise(keyword)
            if not word:
                continue
            pattern = None if _CJK.search(word) else re.compile(r"(?<![a-z0-9])" + re.escape(word))
            matchers.append((word, pattern))
        out.append((rule, tuple(matchers)))
    return tuple(out)


def match_rules(text: str, rules: Sequence[Rule], kind: str) -> Classification:
    """The first rule (in order) with a keyword in `text`; source "none" when none has."""
    text = normalise(text[:MAX_TEXT])
    for rule, matchers in _compiled(tuple(rules)):
        hits = [w for w, p in matchers if (w in text if p is None else p.search(text))]
        if hits:
            confidence = RULE_CONFIDENCE[min(len(hits), len(RULE_CONFIDENCE)) - 1]
            return Classification(kind, rule.label, confidence, SOURCE_RULES,
                                  tuple(hits[:TOP_WORDS]))  # fmt: skip
    return Classification(kind)


def rules_for(kinds: Iterable[str] = KINDS) -> dict[str, tuple[Rule, ...]]:
    """The current tenant's rules per kind (one query); the built-in ones for a kind it has
    none of."""
    kinds = tuple(kinds)
    own: dict[str, list[Rule]] = {kind: [] for kind in kinds}
    rows = KeywordRule.objects.filter(kind__in=kinds).order_by("kind", "position", "id")
    for kind, label, keywords in rows.values_list("kind", "label", "keywords"):
        own[kind].append(Rule(label, tuple(str(k) for k in keywords or ())))
    return {kind: tuple(own[kind]) or BUILTIN_RULES[kind] for kind in kinds}
