# ruff: noqa: E501 - article texts, one sentence a line; Chinese characters count double
"""Demo knowledge base (helpdesk.demo): three categories, thirteen articles in the tenant's
language with some translations, three of them internal, one in review, one draft, one due
for review, and an FAQ collection. What the demo tickets ask about: refunds 退款, invoices
发票, signing in 登录, delivery 物流. Idempotent: articles are found by language and slug."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from django.utils import timezone

from helpdesk.accounts.models import User
from helpdesk.tenancy.models import Membership, Tenant

from . import services
from .models import Article, Category, FAQCollection, Section

EN, ZH = "en", "zh-hans"


@dataclass(frozen=True)
class Text:
    title: str
    body: str


@dataclass(frozen=True)
class Topic:
    key: str
    section: str  # key into SECTIONS
    en: Text
    zh: Text
    internal: bool = False
    status: str = Article.Status.PUBLISHED
    stale: bool = False


CATEGORIES = {
    "orders": ({EN: "Orders and delivery", ZH: "订单与物流"}, "lifebuoy",
               {EN: "Tracking, delivery times, returns and refunds", ZH: "物流查询、配送时效、退货与退款"}),
    "billing": ({EN: "Billing and invoices", ZH: "账单与发票"}, "briefcase",
                {EN: "Payments, subscriptions and invoices", ZH: "付款、订阅与发票"}),
    "account": ({EN: "Your account", ZH: "账户与登录"}, "key",
                {EN: "Signing in, passwords and security", ZH: "登录、密码与账户安全"}),
}  # fmt: skip
SECTIONS = {
    "delivery": ("orders", {EN: "Delivery", ZH: "物流配送"}),
    "refunds": ("orders", {EN: "Returns and refunds", ZH: "退货与退款"}),
    "payments": ("billing", {EN: "Payments and subscriptions", ZH: "付款与订阅"}),
    "invoices": ("billing", {EN: "Invoices", ZH: "发票"}),
    "signin": ("account", {EN: "Signing in", ZH: "登录"}),
    "team": ("account", {EN: "For the support team", ZH: "客服内部"}),
}

TOPICS = [
    Topic("refund-time", "refunds",
          Text("How long does a refund take?",
               "Once your return reaches our warehouse we check it within **2 working days** and "
               "issue the refund to the card or account you paid with.\n\n"
               "| Payment method | Time to arrive |\n|---|---|\n| Card (Visa, Mastercard) | 3–5 "
               "working days |\n| PayPal | 1 working day |\n| Bank transfer | 2–3 working days |\n\n"
               "Your bank decides when the refund shows on your statement. If it has not arrived "
               "after 7 working days, reply to your order email with the last four digits of the "
               "card and we will trace the payment."),
          Text("退款多久到账？",
               "仓库收到退货后，我们会在 **2 个工作日** 内完成质检，并按原支付方式退款。\n\n"
               "| 支付方式 | 到账时间 |\n|---|---|\n| 银行卡 | 3–5 个工作日 |\n| 支付宝 | 1 个工作日 |\n"
               "| 微信支付 | 1 个工作日 |\n\n"
               "具体到账时间以银行为准。如果 7 个工作日后仍未收到退款，请回复订单邮件并提供付款卡号后四位，"
               "我们会为您查询退款进度。")),
    Topic("refund-request", "refunds",
          Text("How to request a refund",
               "You can return most items within **30 days** of delivery.\n\n"
               "1. Sign in and open **Orders**.\n2. Choose the order and select **Return an item**.\n"
               "3. Pick the reason and print the prepaid return label.\n4. Drop the parcel at any "
               "post office.\n\nWe refund the item price and the original delivery cost when the "
               "return is faulty or we sent the wrong item. See also how long a refund takes."),
          Text("如何申请退款",
               "大部分商品支持签收后 **30 天** 内退货退款。\n\n"
               "1. 登录账户，进入 **我的订单**。\n2. 选择订单，点击 **申请退货**。\n"
               "3. 选择退货原因，打印预付运费的退货面单。\n4. 将包裹交给任意快递网点。\n\n"
               "如果商品有质量问题或发错货，我们会同时退还商品金额和运费。")),
    Topic("track-parcel", "delivery",
          Text("Where is my parcel? Tracking your delivery",
               "Every order gets a tracking number by email as soon as it leaves the warehouse.\n\n"
               "- Open the link in the shipping email, or enter the tracking number on the "
               "courier's site.\n- Tracking can take **24 hours** to show the first scan.\n"
               "- If the tracking has not updated for **4 working days**, contact us with your "
               "order number and we will open a trace with the courier.\n\n"
               "Parcels marked *delivered* that you cannot find: check with neighbours and your "
               "safe place first, then tell us within 14 days."),
          Text("如何查询物流进度",
               "订单出库后，我们会通过短信和邮件发送快递单号。\n\n"
               "- 在订单详情页点击 **查看物流**，或在快递公司官网输入单号查询。\n"
               "- 物流信息一般在发货后 **24 小时** 内更新。\n"
               "- 如果物流超过 **4 个工作日** 没有更新，请联系我们并提供订单号，我们会向快递公司发起查件。\n\n"
               "显示已签收但没有收到包裹？请先询问家人、门卫或快递柜，再在 14 天内联系我们。")),
    Topic("delivery-times", "delivery",
          Text("Delivery times and costs",
               "Standard delivery takes **2–4 working days** and is free on orders over £40. "
               "Next-day delivery costs £4.95 when you order before 8 pm. We deliver Monday to "
               "Saturday; remote areas and islands can take two extra days."),
          Text("配送时间与运费",
               "普通快递 **2–4 个工作日** 送达，订单满 99 元包邮。当日 20 点前下单可选择次日达，运费 12 元。"
               "偏远地区可能需要额外 2 天。"),
          stale=True),
    Topic("damaged-item", "delivery",
          Text("My order arrived damaged",
               "Sorry about that. Take a photo of the item and of the box, then reply to your order "
               "email with the photos. We send a replacement by next-day delivery, or a refund if "
               "you prefer; you do not need to send the damaged item back."),
          Text("收到的商品有损坏怎么办",
               "非常抱歉！请拍下商品和外包装的照片，回复订单邮件或在线客服发送给我们。我们会安排次日达补发，"
               "或按您的选择退款，损坏的商品无需寄回。"),
          status=Article.Status.DRAFT),
    Topic("invoice-vat", "invoices",
          Text("Getting an invoice with your VAT number",
               "Invoices are in your account under **Billing › Invoices** as PDF files.\n\n"
               "To show your company name and VAT number on future invoices, add them under "
               "**Billing › Company details**. For an invoice that was already issued, contact us "
               "with the invoice number and your VAT number: we reissue it and cancel the old one."),
          Text("如何开具增值税发票",
               "电子发票可以在 **账户 › 发票管理** 中下载。\n\n"
               "需要增值税专用发票时，请在 **发票抬头** 中填写公司名称、纳税人识别号、地址电话和开户行账号。"
               "已经开出的发票信息有误，请联系我们并提供发票号码，我们会作废原发票并重新开具。")),
    Topic("payment-declined", "payments",
          Text("My card was declined but money was taken",
               "When a payment fails your bank may still show a **temporary hold** for the amount. "
               "No money has been taken: the hold disappears within 7 days. If the same amount "
               "shows twice after 7 days, send us the date and amount and we will check it with "
               "the payment provider."),
          Text("支付失败但已扣款怎么办",
               "支付失败时，银行可能会显示一笔 **预授权冻结**，这笔钱并没有真正扣除，一般 7 天内自动解冻。"
               "如果 7 天后仍显示重复扣款，请把扣款时间和金额发给我们，我们会与支付机构核实。")),
    Topic("cancel-subscription", "payments",
          Text("Cancelling your subscription",
               "Go to **Billing › Subscription** and choose **Cancel**. You can stop at once or at "
               "the end of the current billing period; either way you are not charged again. Your "
               "data stays available for 90 days in case you change your mind."),
          Text("如何取消订阅",
               "进入 **账单 › 订阅管理**，点击 **取消订阅**。可以立即停止，也可以在当前计费周期结束后停止，"
               "之后都不会再扣费。您的数据会保留 90 天。"),
          status=Article.Status.REVIEW),
    Topic("reset-password", "signin",
          Text("I can't log in: reset your password",
               "1. On the sign-in page choose **Forgot password?**\n2. Enter the email address "
               "you sign in with.\n3. Open the reset link within 1 hour.\n\n"
               "No email after 10 minutes? Check your spam folder and that you typed the address "
               "you registered with. Some company mail servers block our messages: ask us and we "
               "will send the link again."),
          Text("忘记密码，无法登录怎么办",
               "1. 在登录页点击 **忘记密码**。\n2. 输入注册时使用的手机号或邮箱。\n"
               "3. 在 1 小时内打开重置链接或输入验证码。\n\n"
               "10 分钟内没有收到邮件？请检查垃圾邮件箱，并确认填写的是注册邮箱。如仍无法登录，请联系我们。")),
    Topic("two-factor", "signin",
          Text("Lost phone: signing in with two-factor authentication",
               "If you have your **backup codes**, use one instead of the code from the app. "
               "Without them, contact us from the email address of your account: after we have "
               "verified who you are we reset two-factor authentication and you set it up again "
               "at your next sign-in."),
          Text("更换手机后收不到验证码",
               "如果保存了 **备用验证码**，可以用它代替手机验证码登录。没有备用码时，请用账户绑定的邮箱联系我们，"
               "核实身份后我们会重置两步验证，您下次登录时重新绑定即可。")),
    Topic("internal-refund-batch", "team",
          Text("Refund batch failed: re-queue it by hand",
               "When a customer's refund is approved but not received after 7 days, check "
               "**Payments › Refund batches** in the billing admin. A batch marked *failed* at the "
               "provider must be re-queued by hand: open it, choose **Retry**, and add a note on "
               "the ticket. Never issue a second refund before the failed one is voided."),
          Text("退款批次失败的人工处理",
               "客户退款已审核但 7 天未到账时，请在财务后台 **付款 › 退款批次** 中查看。状态为 *失败* 的批次需要"
               "人工点击 **重试**，并在工单中备注。原退款作废前，不要重复发起退款。"),
          internal=True),
    Topic("internal-mail-suppression", "team",
          Text("Password reset emails not arriving: the suppression list",
               "If a customer never receives our emails, their address may be on the mail "
               "provider's **suppression list** after a bounce. Look the address up in the mail "
               "dashboard, remove it, then send the reset link again. Note it on the ticket."),
          Text("收不到重置密码邮件：解除退信屏蔽",
               "客户一直收不到邮件时，邮箱可能因退信被邮件服务商加入 **屏蔽列表**。在邮件后台查询该地址，"
               "解除屏蔽后重新发送重置链接，并在工单中备注。"),
          internal=True),
    Topic("internal-2fa-check", "team",
          Text("Before resetting two-factor: verify the customer",
               "Ask for the number of the customer's last invoice and the date it was paid; check "
               "both against the billing records. Only then reset two-factor authentication, and "
               "record the check in the audit note."),
          Text("重置两步验证前的身份核验",
               "请客户提供最近一张发票的号码和付款日期，并与财务记录核对。核对一致后再重置两步验证，"
               "并在审计备注中记录。"),
          internal=True),
]  # fmt: skip

# Per tenant language: which topics also get the other language's version.
TRANSLATED = {
    EN: ["refund-time", "refund-request", "track-parcel", "reset-password"],
    ZH: ["refund-time", "refund-request", "invoice-vat", "reset-password"],
}
FAQ = {
    EN: ("Top questions", ["refund-time", "track-parcel", "reset-password", "invoice-vat",
                           "payment-declined"]),
    ZH: ("常见问题", ["refund-time", "track-parcel", "reset-password", "invoice-vat",
                  "payment-declined"]),
}  # fmt: skip


def _staff(role: str) -> User | None:
    membership = (
        Membership.objects.filter(role=role, is_active=True).select_related("user").order_by("id")
    ).first()
    return membership.user if membership else None


def _sections(admin: User, language: str) -> dict[str, Section]:
    categories: dict[str, Category] = {}
    for position, (key, (names, icon, descriptions)) in enumerate(CATEGORIES.items()):
        category = Category.objects.filter(name=names[language]).first()
        categories[key] = category or services.category_save(
            actor=admin, name=names[language], description=descriptions[language], icon=icon,
            position=position,
        )  # fmt: skip
    sections: dict[str, Section] = {}
    for position, (key, (category_key, names)) in enumerate(SECTIONS.items()):
        category = categories[category_key]
        section = Section.objects.filter(category=category, name=names[language]).first()
        sections[key] = section or services.section_save(
            actor=admin, category=category, name=names[language], position=position
        )
    return sections


def _publish(article: Article, actor: User) -> Article:
    return services.article_publish(article=article, actor=actor)


def seed_knowledge(tenant: Tenant, spec) -> None:
    """helpdesk.demo seeder: called inside the tenant's context."""
    language = ZH if spec.language.startswith("zh") else EN
    other = EN if language == ZH else ZH
    admin, manager = _staff(Membership.Role.ADMIN), _staff(Membership.Role.MANAGER)
    author = _staff(Membership.Role.AGENT) or admin
    if admin is None:
        return
    sections = _sections(admin, language)
    by_key: dict[str, Article] = {}
    for topic in TOPICS:
        text = topic.zh if language == ZH else topic.en
        existing = Article.objects.filter(language=language, title=text.title).first()
        if existing:
            by_key[topic.key] = existing
            continue
        article = services.article_create(
            actor=author, section=sections[topic.section], title=text.title, body=text.body,
            language=language, reviewer=manager,
            visibility=Article.Visibility.INTERNAL if topic.internal else Article.Visibility.PUBLIC,
        )  # fmt: skip
        if topic.status == Article.Status.REVIEW:
            article = services.article_submit(article=article, actor=author)
        elif topic.status == Article.Status.PUBLISHED:
            article = _publish(article, admin)
        if topic.stale:
            # Demo history: published long ago, never checked since (what the reminder finds).
            long_ago = timezone.now() - timedelta(days=400)
            Article.objects.filter(pk=article.pk).update(
                published_at=long_ago, last_reviewed_at=long_ago,
                review_due_at=long_ago + timedelta(days=article.review_every_days),
            )  # fmt: skip
        by_key[topic.key] = article
    for key in TRANSLATED[language]:
        source = by_key[key]
        if Article.objects.filter(translation_group=source.translation_group,
                                  language=other).exists():  # fmt: skip
            continue
        topic = next(t for t in TOPICS if t.key == key)
        text = topic.zh if other == ZH else topic.en
        translation = services.article_translate(article=source, language=other, actor=author)
        translation = services.article_update(
            article=translation, actor=author, title=text.title, body=text.body,
            section=translation.section, visibility=translation.visibility, reviewer=manager,
            review_every_days=translation.review_every_days, note="Translated",
        )  # fmt: skip
        _publish(translation, admin)
    name, keys = FAQ[language]
    collection = FAQCollection.objects.filter(language=language, name=name).first()
    if collection is None:
        collection = services.faq_save(actor=admin, name=name, language=language)
        for key in keys:
            services.faq_add(actor=admin, collection=collection, article=by_key[key])
    # Related articles: each refund article points at the other.
    first, second = by_key["refund-time"], by_key["refund-request"]
    if not first.related_links.exists():
        from .models import RelatedArticle

        RelatedArticle.objects.get_or_create(article=first, related=second)
        RelatedArticle.objects.get_or_create(article=second, related=first)
    _seed_self_service(by_key, language)


# Demo self-service activity for Knowledge › Self-service: (flow, article key, outcome, days ago).
DEFLECTIONS = [
    ("demo-flow-0001-refund", "refund-time", "solved", 1),
    ("demo-flow-0002-refund", "refund-time", "solved", 3),
    ("demo-flow-0003-parcel", "track-parcel", "solved", 4),
    ("demo-flow-0004-password", "reset-password", "solved", 6),
    ("demo-flow-0005-refund", "refund-request", "submitted", 2),
    ("demo-flow-0006-invoice", "invoice-vat", "submitted", 5),
    ("demo-flow-0007-parcel", "delivery-times", "shown", 8),
]
MISSED_SEARCHES = {EN: ["gift card balance", "gift card balance", "student discount"],
                   ZH: ["礼品卡余额", "礼品卡余额", "学生优惠"]}  # fmt: skip


def _seed_self_service(by_key: dict[str, Article], language: str) -> None:
    """A week of deflections and searches that found nothing (idempotent: fixed flow ids)."""
    from .models import Deflection, SearchLog

    if Deflection.objects.filter(flow__startswith="demo-flow-").exists():
        return
    now = timezone.now()
    for flow, key, outcome, days in DEFLECTIONS:
        article = by_key[key]
        row = Deflection.objects.create(
            flow=flow, outcome=outcome, shown_articles=[article.pk], query=article.title[:200],
            language=language, article=article if outcome == "solved" else None,
        )  # fmt: skip
        Deflection.objects.filter(pk=row.pk).update(created_at=now - timedelta(days=days))
    for query in MISSED_SEARCHES[language]:
        SearchLog.objects.create(query=query, language=language, audience="customer")
