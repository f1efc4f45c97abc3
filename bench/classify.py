"""Classification accuracy and latency: the tenant model against the built-in keyword rules.

    .venv/bin/python bench/classify.py                    # 2,000 generated tickets, en + zh
    .venv/bin/python bench/classify.py --tickets 5000 --seed 3
    .venv/bin/python bench/classify.py --algorithms logreg cnb

No database: tickets are generated in memory and go through the same code the product runs
(tickets.automation.classify: `fit`, `predict`, `match_rules`, the jieba tokenizer).

Two data sets:
1. The demo seed's own texts (tickets/demo.py scenarios, filled in like the seed does). Only
   ~20 scenarios per language, each repeated with other order numbers: a random split puts the
   same scenario on both sides, so its accuracy is close to 100 % and says nothing. Reported
   anyway, next to a split by scenario (a scenario is either trained on or tested on), which
   is the honest figure for demo-like data.
2. A generator less regular than the demo: per ticket an inquiry type and a topic, English or
   Chinese, built from interchangeable parts (greeting, situation of the topic, the intent of
   the type phrased one of many ways, sometimes with no give-away keyword or as a question,
   a sentence about another topic in 15 %, short chat-style messages in 15 %, closings), and
   4 % of labels flipped (agents disagree). Split 80/20, stratified; the same 20 % is
   classified by the keyword rules.

Reported: accuracy, per-class precision/recall (model and rules), the learning curve (how the
model does with the 30–1,600 labels a tenant may have), predict latency per ticket.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "helpdesk.settings")

import django  # noqa: E402

django.setup()

from sklearn.metrics import accuracy_score, precision_recall_fscore_support  # noqa: E402
from sklearn.model_selection import train_test_split  # noqa: E402

from tickets.automation.classify import BUILTIN_RULES, TOPIC, TYPE, match_rules  # noqa: E402
from tickets.automation.classify.model import _loaded, fit, predict  # noqa: E402
from tickets.automation.classify.training import demo_topic  # noqa: E402

TYPES = {"inquiry": 0.55, "complaint": 0.18, "suggestion": 0.15, "other": 0.12}
TOPICS = ["billing", "shipping", "account", "technical", "product", "sales"]

# --- The generator ------------------------------------------------------------------------------

EN = {
    "greeting": ["Hi,", "Hello,", "Hello team,", "Dear support,", "Good morning,", "Hi there,", ""],
    "closing": ["Thanks.", "Thank you.", "Regards, {name}", "Cheers, {name}", "Best, {name}", "",
                "Thanks in advance!", "Sent from my phone"],
    "situation": {
        "billing": [
            "I was charged {amount} on {date} for order {order}.",
            "Invoice {invoice} shows our old company name.",
            "The refund for order {order} hasn't shown up on my card yet.",
            "Our annual plan renewed yesterday and the amount is higher than last year.",
            "I see two payments of {amount} on my bank statement.",
            "We need the VAT number on invoice {invoice}.",
            "My card expired last month and the subscription payment failed.",
            "The receipt for order {order} never arrived by email.",
        ],
        "shipping": [
            "Order {order} was supposed to arrive on {date}.",
            "The tracking number {tracking} hasn't updated for four days.",
            "The courier left the parcel with a neighbour I don't know.",
            "I received the {product} in the wrong colour.",
            "The box for order {order} arrived damaged.",
            "I moved house and order {order} still shows my old address.",
            "Only half of order {order} was delivered.",
            "I sent the {product} back two weeks ago.",
        ],
        "account": [
            "I can't sign in since this morning.",
            "The password reset email never arrives.",
            "I lost my phone and with it the two-factor codes.",
            "A colleague left the company and still has access to our account.",
            "My account got locked after too many attempts.",
            "I'd like all my personal data removed.",
            "We want staff to sign in with their Microsoft accounts.",
            "The verification code says it has expired every time.",
        ],
        "technical": [
            "The reports page shows error 500 when I export.",
            "The Android app closes when I attach a photo.",
            "The dashboard takes over a minute to load.",
            "About a third of our API calls get HTTP 429.",
            "Sync between the app and the website stopped working.",
            "The page freezes when I open the order list.",
            "Notifications stopped arriving on iOS after the update.",
            "The CSV file from the export is empty.",
        ],
        "product": [
            "My {product} stopped charging after 14 months.",
            "The battery of the {product} lasts only two hours.",
            "I bought the {product} last week.",
            "The {product} doesn't pair with my phone.",
            "The manual of the {product} is only in German.",
            "The {product} makes a clicking noise.",
            "I'm choosing between the {product} and the pro model.",
            "The screen of the {product} flickers.",
        ],
        "sales": [
            "We're looking to buy 250 units of the {product}.",
            "Our school would like to equip 40 classrooms.",
            "We run a shop and would like to stock your products.",
            "We need a formal quote for our purchasing department.",
            "We're comparing your pricing with two other suppliers.",
            "Our company wants the {product} for all new staff.",
            "We'd order every quarter if the price is right.",
            "I saw the offer on your website last week.",
        ],
    },
    "action": {
        "billing": ["get a copy of the invoice", "change the card on file", "get the refund",
                    "download all invoices for last year", "switch to monthly billing"],
        "shipping": ["change the delivery address", "track the parcel", "return the item",
                     "swap it for another size", "get it delivered on Saturday"],
        "account": ["reset my password", "get back into my account", "add a colleague",
                    "turn off two-factor authentication", "close my account"],
        "technical": ["export the report", "fix this", "get the app working again",
                      "raise the rate limit", "get the sync going again"],
        "product": ["get it repaired", "use it with my laptop", "register the warranty",
                    "reset it to factory settings", "charge it properly"],
        "sales": ["get a quote", "get a volume discount", "become a reseller",
                  "pay by purchase order", "get samples first"],
    },
    "feature": {
        "billing": ["a monthly summary of all invoices", "paying by bank transfer",
                    "invoices in our own currency", "a way to download every invoice at once"],
        "shipping": ["choosing a delivery time slot", "text messages from the courier",
                     "delivery to a pick-up point", "gift wrapping"],
        "account": ["signing in with Google", "more roles for team members",
                    "a list of active sessions", "passkeys"],
        "technical": ["a dark mode", "an offline mode in the app", "webhooks for new orders",
                      "a bigger export limit"],
        "product": ["a bigger battery", "a version in blue", "a carrying case",
                    "a USB-C cable in the box"],
        "sales": ["a price list in euros", "a bundle offer", "a loyalty programme",
                  "a trade-in scheme"],
    },
    "intent": {
        "inquiry": [
            "How do I {action}?", "Could you tell me how to {action}?",
            "Is it possible to {action}?", "Can I {action}?",
            "What's the quickest way to {action}?",
            "Please let me know what happens next.", "Could you check what's going on?",
            "Please look into it and tell me how to {action}.", "I'd like to {action}.",
            "When will this be sorted?", "What are my options?", "Any update on this?",
            "Do you know why this happens?", "Is there a way to {action} myself?",
            "Who should I talk to about this?", "Where do I find the setting to {action}?",
            "Does this cost extra?", "Could someone call me back about it?",
        ],
        "complaint": [
            "This is unacceptable.", "I'm really disappointed with your service.",
            "This is the third time I've had to write about this.",
            "Nobody has answered my last two emails.", "I expected much better for what I pay.",
            "I've been waiting two weeks now and I'm losing patience.",
            "Why does nobody ever reply?", "I want to make a formal complaint.",
            "Frankly this is the worst experience I've had with any company.",
            "If this isn't fixed today I'm cancelling and telling everyone I know.",
            "Your agent was rude to me on the phone.", "I'm fed up with chasing you.",
            "Absolutely terrible, I want my money back.", "You keep promising and never deliver.",
            "I've lost a whole day because of this mess.", "This is simply not good enough.",
            "Shocking service, honestly.", "I'll be leaving a one-star review.",
        ],
        "suggestion": [
            "It would be great if you offered {feature}.", "Please add {feature}.",
            "Have you thought about {feature}?", "{feature_cap} would save us a lot of time.",
            "Feature request: {feature}.", "Just an idea: {feature}.",
            "I'd love to see {feature} one day.", "Could you consider {feature}?",
            "Other shops have {feature}, you should too.", "My wish for next year: {feature}.",
            "Small improvement idea: {feature}.", "We would pay more for {feature}.",
            "It'd make my life easier if there were {feature}.",
            "Any plans for {feature}?", "Suggestion: {feature}.", "How about {feature}?",
        ],
        "other": [
            "Thanks, that solved it, you can close the ticket.",
            "I'm out of the office until {due} with limited access to email.",
            "We'd like to talk about a partnership with your company.",
            "Please ignore my previous message, I found it.",
            "Just forwarding this for your records.", "Great, all good now. Thanks a lot!",
            "This is an automatic reply: your message has been received.",
            "Please remove me from your newsletter.", "No need to reply to this.",
            "Sorry, wrong address, please disregard.", "Closing the loop: it works now.",
            "Our office will be closed for the holidays.",
        ],
    },
}  # fmt: skip

ZH = {
    "greeting": ["您好，", "你好，", "客服你好，", "在吗？", "麻烦问一下，", ""],
    "closing": ["谢谢！", "谢谢。", "辛苦了。", "麻烦尽快回复。", "", "{name}"],
    "situation": {
        "billing": [
            "我{date}被扣了{amount}，订单号{order}。", "发票{invoice}的抬头写错了。",
            "订单{order}的退款到现在还没到账。", "年费自动续费了，金额比去年高。",
            "银行卡上有两笔{amount}的扣款。", "发票{invoice}上缺少税号。",
            "银行卡过期了，续费没有成功。", "订单{order}一直没有收到电子收据。",
        ],
        "shipping": [
            "订单{order}说好{date}送到。", "快递单号{tracking}四天没有更新了。",
            "快递员把包裹放在了不认识的邻居家。", "收到的{product}颜色不对。",
            "订单{order}的外箱压坏了。", "我搬家了，订单{order}还是旧地址。",
            "订单{order}只送到了一半的东西。", "两周前我已经把{product}寄回去了。",
        ],
        "account": [
            "从今天早上开始就登录不了。", "重置密码的邮件一直收不到。",
            "手机丢了，两步验证的动态码收不到。", "一个同事离职了，还能进我们的账号。",
            "输错几次以后账号被锁了。", "我想删除我的全部个人信息。",
            "我们希望员工用企业微信登录。", "验证码每次都提示已过期。",
        ],
        "technical": [
            "报表页面导出的时候报500错误。", "安卓App上传照片就闪退。",
            "后台首页要一分多钟才能打开。", "我们大约三分之一的接口请求返回429。",
            "App和网页之间的同步不工作了。", "打开订单列表页面就卡住了。",
            "升级以后苹果手机收不到通知了。", "导出的CSV文件是空的。",
        ],
        "product": [
            "我的{product}用了14个月就充不进电了。", "{product}的电池只能用两个小时。",
            "我上周买了{product}。", "{product}连不上我的手机。", "{product}的说明书只有英文。",
            "{product}有咔咔的响声。", "我在{product}和专业版之间犹豫。", "{product}的屏幕一直闪。",
        ],
        "sales": [
            "我们公司打算采购250台{product}。", "我们学校想给40间教室配备。",
            "我们开了一家店，想代理你们的产品。", "我们采购部需要一份正式报价。",
            "我们在对比你们和另外两家的价格。", "公司想给所有新员工配{product}。",
            "如果价格合适我们每个季度都会下单。", "上周在官网看到了活动。",
        ],
    },
    "action": {
        "billing": ["补开发票", "换绑银行卡", "拿到退款", "下载去年全部的发票", "改成按月付费"],
        "shipping": ["修改收货地址", "查物流", "退货", "换个尺码", "周六送货"],
        "account": ["重置密码", "重新登录账号", "添加同事", "关闭两步验证", "注销账号"],
        "technical": ["导出报表", "解决这个问题", "让App恢复正常", "提高接口限额", "恢复同步"],
        "product": ["维修", "连接电脑使用", "登记保修", "恢复出厂设置", "正常充电"],
        "sales": ["拿到报价", "拿到批量优惠", "成为代理商", "用对公转账付款", "先拿样品"],
    },
    "feature": {
        "billing": ["每月发票汇总", "对公转账支付", "开电子专票", "一键下载全部发票"],
        "shipping": ["选择送货时间段", "快递短信通知", "送到自提点", "礼品包装"],
        "account": ["微信扫码登录", "更多的成员角色", "查看登录设备", "指纹登录"],
        "technical": ["深色模式", "App离线模式", "新订单推送接口", "更大的导出上限"],
        "product": ["更大的电池", "蓝色款", "收纳包", "附送Type-C数据线"],
        "sales": ["人民币报价单", "套餐优惠", "会员积分", "以旧换新"],
    },
    "intent": {
        "inquiry": [
            "请问怎么{action}？", "想问一下如何{action}。", "能不能帮我{action}？",
            "可以{action}吗？", "麻烦帮忙查一下是什么情况。", "我想{action}。",
            "大概什么时候能处理好？", "现在进度怎么样了？", "需要我提供什么资料吗？",
            "麻烦看一下，告诉我怎么{action}。", "这个怎么办？", "有什么办法吗？",
            "为什么会这样呢？", "我自己能{action}吗？", "这个要找谁处理？", "在哪里设置{action}？",
            "这个要额外收费吗？", "方便的话打电话给我。",
        ],
        "complaint": [
            "太差了，非常不满意！", "这已经是第三次了。", "发了两封邮件都没人回。",
            "花了这么多钱就是这种服务？", "等了两个星期了，耐心都没了。", "为什么一直没人回复？",
            "我要投诉。", "这是我遇到过最糟糕的体验。", "今天不解决我就退款并且给差评。",
            "电话客服态度很差。", "天天催，烦死了。", "你们就是这样对待老客户的吗？",
            "太坑了，我要退钱。", "每次都说马上处理，结果都没有。", "为了这个事浪费了我一整天。",
            "实在太让人失望了。", "服务太烂了。", "我会去平台上给差评的。",
        ],
        "suggestion": [
            "建议增加{feature}。", "希望能支持{feature}。", "要是有{feature}就方便多了。",
            "能不能考虑做{feature}？", "提个需求：{feature}。", "如果能加上{feature}就好了。",
            "别家都有{feature}，你们也可以做一个。", "期待以后有{feature}。",
            "给个小意见：{feature}。", "有没有计划做{feature}？",
            "小建议：{feature}。", "有{feature}的话我们愿意多付点钱。",
            "希望后续版本加入{feature}。",
            "以后会有{feature}吗？", "做个{feature}吧。", "加一个{feature}怎么样？",
        ],
        "other": [
            "谢谢，问题已经解决了，可以关闭工单。", "我{due}前休假，期间不方便回复。",
            "想跟贵公司谈谈商务合作。", "不好意思，上一条发错了，请忽略。", "转发给你们备个案。",
            "好的，没问题了，谢谢！", "【自动回复】您的邮件已收到。", "请不要再给我发推广短信了。",
            "这条不用回复。", "发错人了，请忽略。", "现在已经好了，跟你们说一声。",
            "春节期间我们公司放假。",
        ],
    },
}  # fmt: skip

SUBJECTS = {
    "en": {
        "billing": ["Invoice {invoice}", "Payment question", "Refund", "Charged twice", "Billing"],
        "shipping": ["Order {order}", "Delivery", "Parcel", "Where is my order?", "Returns"],
        "account": ["Login problem", "Account", "Password", "Access", "2FA"],
        "technical": ["Error", "App problem", "Bug?", "Export", "API"],
        "product": ["My {product}", "Warranty", "Product question", "{product}", "Battery"],
        "sales": ["Quote request", "Bulk order", "Pricing", "Reseller", "Offer"],
    },
    "zh": {
        "billing": ["发票{invoice}", "付款问题", "退款", "重复扣款", "账单"],
        "shipping": ["订单{order}", "物流", "包裹", "我的订单到哪了", "退换货"],
        "account": ["登录问题", "账号", "密码", "权限", "两步验证"],
        "technical": ["报错", "App问题", "有bug？", "导出", "接口"],
        "product": ["我的{product}", "保修", "产品咨询", "{product}", "电池"],
        "sales": ["询价", "批量采购", "价格", "代理", "活动"],
    },
}  # fmt: skip
PRODUCTS = {"en": ["speaker", "fitness watch", "coffee grinder", "tablet", "e-reader"],
            "zh": ["蓝牙音箱", "运动手表", "咖啡机", "平板电脑", "扫地机器人"]}  # fmt: skip
NAMES = {"en": ["Emma", "James", "Olivia", "Harry"], "zh": ["王芳", "陈伟", "李娜", "张磊"]}


def _values(rng: random.Random, lang: str) -> dict[str, str]:
    return {
        "order": f"SO-{rng.randint(100000, 999999)}" if lang == "en"
        else f"DD{rng.randint(10**9, 10**10)}",
        "tracking": f"JD{rng.randint(10**10, 10**11)}",
        "invoice": f"INV-{rng.randint(1000, 9999)}",
        "amount": f"£{rng.randint(10, 400)}.00" if lang == "en" else f"¥{rng.randint(50, 3000)}",
        "date": f"{rng.randint(1, 28)} March" if lang == "en" else f"3月{rng.randint(1, 28)}日",
        "due": f"{rng.randint(1, 28)} April" if lang == "en" else f"4月{rng.randint(1, 28)}日",
        "product": rng.choice(PRODUCTS[lang]),
        "name": rng.choice(NAMES[lang]),
    }  # fmt: skip


def _pool(items: list, part: str | None) -> list:
    """The last fifth of the phrasings (one at least) is kept for testing: "train" and "test"
    never share one."""
    if part is None or len(items) < 3:
        return items
    cut = len(items) - max(1, len(items) // 5)
    return items[cut:] if part == "test" else items[:cut]


def generate(
    count: int, seed: int, *, part: str | None = None, noise: float = 0.04
) -> list[tuple[str, str, str, str]]:
    """(text, type, topic, language) tuples. `part` "train" and "test" draw on disjoint
    phrasings (intents, situations, subjects, actions, features), "mixed" on the test ones
    for half the parts of a ticket and the train ones for the rest, None on all of them."""
    rng = random.Random(seed)

    def pick(items: list, avoid: str = "") -> str:
        pool = _pool(items, part)
        if part == "mixed":  # half new wording, half familiar
            pool = _pool(items, "test" if rng.random() < 0.5 else "train")
        choice = rng.choice(pool)
        return rng.choice(pool) if choice == avoid else choice

    out = []
    for _n in range(count):
        lang = rng.choice(["en", "zh"])
        parts = EN if lang == "en" else ZH
        kind = rng.choices(list(TYPES), list(TYPES.values()))[0]
        topic = rng.choice(TOPICS)
        values = _values(rng, lang)
        feature = pick(parts["feature"][topic])
        values.update(action=pick(parts["action"][topic]), feature=feature,
                      feature_cap=feature[:1].upper() + feature[1:])  # fmt: skip
        intent = pick(parts["intent"][kind])
        situation = pick(parts["situation"][topic])
        if rng.random() < 0.15:  # chat style: one line
            sentences = [intent] if rng.random() < 0.5 else [situation, intent]
        else:
            sentences = [rng.choice(parts["greeting"]), situation]
            if rng.random() < 0.4:
                sentences.append(pick(parts["situation"][topic], avoid=situation))
            if rng.random() < 0.15:  # mentions something else too
                sentences.append(pick(parts["situation"][rng.choice(TOPICS)]))
            sentences.insert(rng.choice([1, len(sentences)]), intent)
            if rng.random() < 0.3:  # says it twice, in other words
                sentences.append(pick(parts["intent"][kind], avoid=intent))
            sentences.append(rng.choice(parts["closing"]))
        sep = " " if lang == "en" else ""
        body = sep.join(s for s in sentences if s).format_map(values)
        subject = pick(SUBJECTS[lang][topic]).format_map(values)
        if rng.random() < noise:
            kind = rng.choice(list(TYPES))
        if rng.random() < noise:
            topic = rng.choice(TOPICS)
        out.append((f"{subject}\n{body}", kind, topic, lang))
    return out


def demo_texts(per_scenario: int, seed: int) -> list[tuple[str, str, str, str]]:
    """The demo seed's scenarios (tickets/demo.py), filled in like the seed; + scenario id."""
    from tickets import demo

    rng = random.Random(seed)
    out = []
    for lang, scenarios in (("en", demo.SCENARIOS_EN), ("zh", demo.SCENARIOS_ZH)):
        for n, scenario in enumerate(scenarios):
            for _i in range(per_scenario):
                values = _values(rng, lang)
                values.update(tracking=values["tracking"], org="Globex", email="a@b.test",
                              domain="b.test")  # fmt: skip
                text = f"{scenario.subject}\n{scenario.first}".format_map(values)
                out.append((text, scenario.category, demo_topic(scenario.tags), f"{lang}{n}"))
    return out


# --- Measuring ----------------------------------------------------------------------------------


def report(name: str, truth: list[str], guess: list[str]) -> float:
    labels = sorted(set(truth))
    accuracy = accuracy_score(truth, guess)
    precision, recall, _f, support = precision_recall_fscore_support(
        truth, guess, labels=labels, zero_division=0
    )
    print(f"  {name}: accuracy {accuracy:.1%}")
    for label, p, r, n in zip(labels, precision, recall, support, strict=True):
        print(f"      {label:<11} precision {p:6.1%}  recall {r:6.1%}  (n={n})")
    return accuracy


def model_guesses(train: list, test: list, column: int, kind: str, algorithm: str) -> tuple:
    fitted = fit([t[0] for t in train], [t[column] for t in train], algorithm=algorithm)
    loaded = _loaded(fitted.pipeline, trained_at=None)
    results, times = [], []
    for ticket in test:
        started = time.perf_counter()
        results.append(predict(loaded, ticket[0], kind))
        times.append((time.perf_counter() - started) * 1000)
    return [r.label for r in results], fitted, _percentiles(times), loaded


def _percentiles(times: list[float]) -> str:
    times = sorted(times)
    return (f"p50 {times[len(times) // 2]:.2f} ms, p95 {times[int(len(times) * 0.95)]:.2f} ms, "
            f"max {times[-1]:.2f} ms")  # fmt: skip


def rules_guesses(test: list, kind: str) -> list[str]:
    default = {TYPE: "inquiry", TOPIC: ""}[kind]  # no match: the category stays the default
    return [match_rules(t[0], BUILTIN_RULES[kind], kind).label or default for t in test]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--tickets", type=int, default=2000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--algorithms", nargs="+", default=["logreg", "cnb"])
    args = parser.parse_args()

    from tickets.search import tokens

    started = time.perf_counter()
    tokens("预热 jieba")
    print(f"jieba loaded in {time.perf_counter() - started:.2f} s (once per process)\n")

    print("== Demo seed texts (tickets/demo.py), 6 per scenario ==")
    demo = demo_texts(6, args.seed)
    train, test = train_test_split(demo, test_size=0.2, random_state=0,
                                   stratify=[d[1] for d in demo])  # fmt: skip
    guess, *_ = model_guesses(train, test, 1, TYPE, "logreg")
    print(f"  random split, type: accuracy {accuracy_score([t[1] for t in test], guess):.1%} "
          "(the same scenarios on both sides: meaningless)")  # fmt: skip
    groups = sorted({d[3] for d in demo})
    held = set(random.Random(args.seed).sample(groups, len(groups) // 5))
    train = [d for d in demo if d[3] not in held]
    test = [d for d in demo if d[3] in held]
    print(f"  split by scenario ({len(held)} of {len(groups)} scenarios held out):")
    for column, kind in ((1, TYPE), (2, TOPIC)):
        guess, *_ = model_guesses(train, test, column, kind, "logreg")
        truth = [t[column] for t in test]
        print(f"    {kind}: model {accuracy_score(truth, guess):.1%}, keyword rules "
              f"{accuracy_score(truth, rules_guesses(test, kind)):.1%}")  # fmt: skip

    train_all = generate(int(args.tickets * 0.8), args.seed, part="train")
    tests = {
        "shared wording": generate(int(args.tickets * 0.2), args.seed + 1, part="train"),
        "half new wording": generate(int(args.tickets * 0.2), args.seed + 1, part="mixed"),
        "all new wording": generate(int(args.tickets * 0.2), args.seed + 1, part="test"),
    }
    print(f"\n== Generated tickets: train {len(train_all)} (80 %), test {args.tickets // 5} "
          "(20 %) three ways; 4 % of labels flipped ==")  # fmt: skip
    print("   shared: the test uses only phrasings seen in training (the generator's ceiling);")
    print("   half new: each part of a test ticket is new wording with p = 0.5 (the headline);")
    print("   all new: every phrasing of a test ticket is new (the floor).")
    for column, kind in ((1, TYPE), (2, TOPIC)):
        print(f"\n-- {kind}: train {dict(Counter(d[column] for d in train_all))}")
        for name, test in tests.items():
            truth = [t[column] for t in test]
            guess, *_ = model_guesses(train_all, test, column, kind, "logreg")
            rules = rules_guesses(test, kind)
            print(f"  {name}: model {accuracy_score(truth, guess):.1%}, keyword rules "
                  f"{accuracy_score(truth, rules):.1%}")  # fmt: skip
        test = tests["half new wording"]
        print("  half new wording in detail:")
        truth = [t[column] for t in test]
        rules = rules_guesses(test, kind)
        latency = {}
        for algorithm in args.algorithms:
            guess, fitted, per_ticket, loaded = model_guesses(train_all, test, column, kind,
                                                              algorithm)  # fmt: skip
            report(f"model {algorithm} (trained on {len(train_all)}, cross-validated "
                   f"{fitted.accuracy:.1%})", truth, guess)  # fmt: skip
            latency[algorithm] = per_ticket
            results = [predict(loaded, t[0], kind) for t in test]
            sure = [r.sure for r in results]  # at least required_confidence(classes)
            right = sum(1 for s, g, t in zip(sure, guess, truth, strict=True) if s and g == t)
            print(f"      confidence median {statistics.median(r.confidence for r in results):.2f}"
                  f"; {sum(sure) / len(sure):.0%} of tickets sure enough to set the field, "
                  f"{right / max(1, sum(sure)):.1%} of those right")  # fmt: skip
            if algorithm == "logreg":
                found = [match_rules(t[0], BUILTIN_RULES[kind], kind).label for t in test]
                hybrid = [g if s or not f else f for g, s, f in zip(guess, sure, found,
                                                                    strict=True)]  # fmt: skip
                print(f"      as the product runs it (the model; the keyword rules where it is "
                      f"unsure and one matches): {accuracy_score(truth, hybrid):.1%}")  # fmt: skip
        report("keyword rules (built-in)", truth, rules)
        for algorithm, figures in latency.items():
            print(f"  predict latency {algorithm}, per ticket (tokenize + tf-idf + predict_proba "
                  f"+ top words): {figures}")  # fmt: skip
        times = []
        for ticket in test:
            started = time.perf_counter()
            match_rules(ticket[0], BUILTIN_RULES[kind], kind)
            times.append((time.perf_counter() - started) * 1000)
        print(f"  keyword rules latency, per ticket: {_percentiles(times)}")
        print(f"  learning curve (logreg, half new; keyword rules "
              f"{accuracy_score(truth, rules):.0%}):", end="")  # fmt: skip
        for size in (30, 60, 100, 200, 400, 800, len(train_all)):
            subset = train_all[:size]
            if size > len(train_all) or min(Counter(t[column] for t in subset).values()) < 2:
                continue
            guess, *_ = model_guesses(subset, test, column, kind, "logreg")
            print(f" {size}→{accuracy_score(truth, guess):.0%}", end="")
        print()


if __name__ == "__main__":
    main()
