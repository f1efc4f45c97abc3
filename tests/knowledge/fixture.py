# ruff: noqa: E501 - article texts; Chinese characters count double
"""A fixed bilingual set for search ranking: 20 short articles (10 en, 10 zh-hans) and 32
queries, each with the article a person asking it wants first. Used by test_ranking.py (top-1
hit rate) and bench/kb_search.py. Queries are what customers type: a few words, a question,
a typo, one or two Chinese characters."""

from __future__ import annotations

ARTICLES: dict[str, tuple[str, str, str]] = {
    # key: (language, title, body)
    "en-refund-time": (
        "en",
        "How long does a refund take?",
        "After your return reaches the warehouse we issue the refund within 2 working days. Card refunds take 3 to 5 working days to show on your statement; PayPal takes one day.",
    ),
    "en-refund-request": (
        "en",
        "How to request a refund or return an item",
        "Sign in, open Orders, choose the order and select Return an item. Print the prepaid label and drop the parcel at a post office within 30 days of delivery.",
    ),
    "en-tracking": (
        "en",
        "Tracking your parcel",
        "Every order gets a tracking number by email when it ships. If tracking has not updated for four working days, contact us and we open a trace with the courier.",
    ),
    "en-delivery-cost": (
        "en",
        "Delivery times and shipping costs",
        "Standard delivery takes 2 to 4 working days and is free over £40. Next-day delivery costs £4.95 when you order before 8 pm.",
    ),
    "en-damaged": (
        "en",
        "My order arrived damaged or broken",
        "Take photos of the item and the box and send them to us. We ship a replacement by next-day delivery; you do not need to return the broken item.",
    ),
    "en-invoice": (
        "en",
        "Download an invoice with your VAT number",
        "Invoices are under Billing, Invoices as PDF. Add your company name and VAT number under Company details; we reissue invoices that were already sent.",
    ),
    "en-declined": (
        "en",
        "Card declined but money taken",
        "A failed payment can leave a temporary hold on your card. No money was taken and the authorisation hold is released by your bank within 7 days.",
    ),
    "en-cancel": (
        "en",
        "Cancel your subscription",
        "Go to Billing, Subscription and choose Cancel. Stop now or at the end of the billing period; you will not be charged again.",
    ),
    "en-password": (
        "en",
        "Reset your password if you can't log in",
        "On the sign in page choose Forgot password, enter your email address and open the reset link within one hour. Check your spam folder if no email arrives.",
    ),
    "en-2fa": (
        "en",
        "Lost phone and two-factor authentication codes",
        "Use a backup code instead of the authenticator app. Without backup codes contact us; after verifying your identity we reset two-factor authentication.",
    ),
    "zh-refund-time": (
        "zh-hans",
        "退款多久到账？",
        "仓库收到退货后，我们会在两个工作日内完成质检并原路退款。银行卡退款三到五个工作日到账，支付宝和微信一个工作日到账。",
    ),
    "zh-refund-request": (
        "zh-hans",
        "如何申请退货退款",
        "登录账户，进入我的订单，选择订单后点击申请退货。打印退货面单，在签收三十天内把包裹交给快递网点。",
    ),
    "zh-tracking": (
        "zh-hans",
        "如何查询物流进度",
        "订单发货后会通过短信发送快递单号。物流超过四个工作日没有更新，请联系客服，我们会向快递公司发起查件。",
    ),
    "zh-delivery-cost": (
        "zh-hans",
        "配送时间与运费说明",
        "普通快递二到四个工作日送达，满九十九元包邮。晚上八点前下单可以选择次日达，运费十二元。",
    ),
    "zh-damaged": (
        "zh-hans",
        "收到的商品破损怎么办",
        "请拍下商品和外包装的照片发给客服。我们会安排补发新商品，破损商品无需寄回。",
    ),
    "zh-invoice": (
        "zh-hans",
        "如何开具增值税专用发票",
        "在账户的发票管理中填写公司名称、纳税人识别号和开户行账号。已开出的发票信息有误可以申请作废重开。",
    ),
    "zh-declined": (
        "zh-hans",
        "支付失败但银行卡已扣款",
        "支付失败时银行可能显示一笔预授权冻结，资金并没有被扣除，一般七天内自动解冻。",
    ),
    "zh-cancel": (
        "zh-hans",
        "如何取消自动续费订阅",
        "进入账单中的订阅管理，点击取消订阅。可以立即停止或在本期结束后停止，之后不会再扣费。",
    ),
    "zh-password": (
        "zh-hans",
        "忘记密码无法登录怎么办",
        "在登录页点击忘记密码，输入注册手机号或邮箱，按短信验证码或邮件链接重置密码。",
    ),
    "zh-2fa": (
        "zh-hans",
        "更换手机后收不到验证码",
        "可以使用备用验证码登录。没有备用码时请联系客服，核实身份后我们会重置两步验证。",
    ),
}

# (query, language, the article wanted first)
QUERIES: list[tuple[str, str, str]] = [
    ("refund", "en", "en-refund-time"),
    ("how long does a refund take", "en", "en-refund-time"),
    ("return an item", "en", "en-refund-request"),
    ("where is my parcel tracking", "en", "en-tracking"),
    ("shipping cost", "en", "en-delivery-cost"),
    ("next-day delivery price", "en", "en-delivery-cost"),
    ("broken item arrived", "en", "en-damaged"),
    ("VAT invoice", "en", "en-invoice"),
    ("card declined", "en", "en-declined"),
    ("cancel subscription", "en", "en-cancel"),
    ("forgot password", "en", "en-password"),
    ("can't log in", "en", "en-password"),
    ("lost phone 2fa", "en", "en-2fa"),
    ("refnud", "en", "en-refund-time"),
    ("invoise", "en", "en-invoice"),
    ("pasword reset", "en", "en-password"),
    ("subscripton", "en", "en-cancel"),
    ("退款", "zh-hans", "zh-refund-time"),
    ("退款多久到账", "zh-hans", "zh-refund-time"),
    ("怎么申请退货", "zh-hans", "zh-refund-request"),
    ("物流", "zh-hans", "zh-tracking"),
    ("快递一直没有更新", "zh-hans", "zh-tracking"),
    ("运费", "zh-hans", "zh-delivery-cost"),
    ("商品破损", "zh-hans", "zh-damaged"),
    ("发票", "zh-hans", "zh-invoice"),
    ("增值税专用发票怎么开", "zh-hans", "zh-invoice"),
    ("扣款", "zh-hans", "zh-declined"),
    ("取消订阅", "zh-hans", "zh-cancel"),
    ("忘记密码", "zh-hans", "zh-password"),
    ("登录", "zh-hans", "zh-password"),
    ("验证码", "zh-hans", "zh-2fa"),
    ("续费", "zh-hans", "zh-cancel"),
]
