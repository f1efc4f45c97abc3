"""Demo tickets for `seed_demo` (DESIGN.md §4): organizations, contacts, tiered teams, canned
responses and about sixty tickets per tenant over every channel, status, priority and both
languages, with realistic threads (customer messages, agent replies, internal notes), tags,
assignments and merges, spread over the last 30 days.

Tickets, messages, tags, status changes and merges go through tickets.services, exactly as the
product makes them. Organizations, contacts, teams and canned responses have no services yet, so
they are created here with get_or_create. The one other direct write is backdating: after each
service call the new rows get the moment the story says they happened (and a demo reply counts
as delivered then), so the inbox, timelines and reports look like a month of real work.

Idempotent: a tenant that already has tickets gets no more; the other rows are get_or_create.
Deterministic: the same tenant always gets the same story (only the anchor, "now", moves).
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from django.utils import timezone

from helpdesk.accounts.models import User
from helpdesk.tenancy.models import Tenant

from . import admin_services, services
from . import contacts as contact_services
from .models import (
    CannedResponse,
    Contact,
    ContactIdentity,
    CustomerTier,
    Message,
    Organization,
    Team,
    TeamMember,
    Ticket,
    TicketEvent,
)

if TYPE_CHECKING:
    from helpdesk.demo import DemoTenant

EN, ZH = "en", "zh-hans"
TICKETS_PER_TENANT = 60
C, S = Ticket.Channel, Ticket.Status


# --- Who ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DemoOrg:
    name: str
    domain: str
    tier: str = CustomerTier.STANDARD


@dataclass(frozen=True)
class DemoContact:
    name: str
    email: str
    phone: str
    language: str
    org: int | None = None  # index into the tenant's organizations


ORGS = {
    "acme": [
        DemoOrg("Northwind Traders", "northwind.test", CustomerTier.VIP),
        DemoOrg("Globex Corporation", "globex.test", CustomerTier.PREMIUM),
        DemoOrg("Initech Ltd", "initech.test"),
    ],
    "huaxia": [
        DemoOrg("上海云杉科技有限公司", "yunshan-tech.test", CustomerTier.VIP),
        DemoOrg("杭州青禾电子商务有限公司", "qinghe-ec.test", CustomerTier.PREMIUM),
        DemoOrg("深圳星河物流有限公司", "xinghe-logistics.test"),
    ],
}

CONTACTS = {
    "acme": [
        DemoContact("Emma Thompson", "emma.thompson@northwind.test", "+44 20 7946 0101", EN, 0),
        DemoContact("James Wilson", "james.wilson@northwind.test", "+44 20 7946 0102", EN, 0),
        DemoContact("Olivia Brown", "olivia.brown@globex.test", "+44 161 496 0103", EN, 1),
        DemoContact("Harry Taylor", "harry.taylor@globex.test", "+44 161 496 0104", EN, 1),
        DemoContact("Sophia Davies", "sophia.davies@initech.test", "+44 117 496 0105", EN, 2),
        DemoContact("George Wright", "george.wright@initech.test", "+44 117 496 0106", EN, 2),
        DemoContact("Jack Evans", "jack.evans@mail.test", "+44 7700 900107", EN),
        DemoContact("Amelia Roberts", "amelia.roberts@mail.test", "+44 7700 900108", EN),
        DemoContact("Oliver Johnson", "oliver.johnson@mail.test", "+44 7700 900109", EN),
        DemoContact("Isla Hughes", "isla.hughes@mail.test", "+44 7700 900110", EN),
        DemoContact("Charlotte Green", "charlotte.green@mail.test", "+44 7700 900111", EN),
        DemoContact("Noah Hall", "noah.hall@mail.test", "+44 7700 900112", EN),
        DemoContact("李明", "li.ming@globex.test", "+44 7700 900114", ZH, 1),
        DemoContact("陈静", "chen.jing@mail.test", "+44 7700 900115", ZH),
        DemoContact("王慧", "wang.hui@mail.test", "+44 7700 900116", ZH),
    ],
    "huaxia": [
        DemoContact("王芳", "wang.fang@yunshan-tech.test", "+86 138 1762 0101", ZH, 0),
        DemoContact("陈伟", "chen.wei@yunshan-tech.test", "+86 138 1762 0102", ZH, 0),
        DemoContact("孙浩", "sun.hao@yunshan-tech.test", "+86 138 1762 0103", ZH, 0),
        DemoContact("李娜", "li.na@qinghe-ec.test", "+86 139 5710 0104", ZH, 1),
        DemoContact("张磊", "zhang.lei@qinghe-ec.test", "+86 139 5710 0105", ZH, 1),
        DemoContact("刘洋", "liu.yang@xinghe-logistics.test", "+86 137 5508 0106", ZH, 2),
        DemoContact("周婷", "zhou.ting@xinghe-logistics.test", "+86 137 5508 0107", ZH, 2),
        DemoContact("杨静", "yang.jing@mail.test", "+86 186 2133 0108", ZH),
        DemoContact("赵敏", "zhao.min@mail.test", "+86 186 2133 0109", ZH),
        DemoContact("黄俊杰", "huang.junjie@mail.test", "+86 186 2133 0110", ZH),
        DemoContact("吴强", "wu.qiang@mail.test", "+86 186 2133 0111", ZH),
        DemoContact("徐丽", "xu.li@mail.test", "+86 186 2133 0112", ZH),
        DemoContact("David Miller", "david.miller@qinghe-ec.test", "+86 139 5710 0114", EN, 1),
        DemoContact("Sophie Laurent", "sophie.laurent@mail.test", "+33 6 12 34 56 78", EN),
        DemoContact("Tom Becker", "tom.becker@mail.test", "+49 151 2345 6789", EN),
    ],
}

TEAMS = [
    # name, tier, skills, description, staff local parts
    ("Tier 1 Support", 1, [], "First line: every new request lands here.", ["agent1", "agent2"]),
    (
        "Tier 2 Technical",
        2,
        ["login", "api", "mobile", "billing-systems"],
        "Technical problems the first line cannot solve.",
        ["tier2"],
    ),
    ("Tier 3 Engineering", 3, ["bugs", "performance"], "Product defects and outages.", []),
]


# --- What -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Scenario:
    """One kind of request and how its conversation goes. Texts take {order}, {tracking},
    {invoice}, {amount}, {product}, {date} (past), {due} (future), {org}, {email}, {domain}."""

    subject: str
    first: str  # the customer's opening message
    ask: str  # an agent's question back
    answer: str  # the customer's answer
    note: str  # an internal note
    solve: str  # the agent's solving reply
    tags: tuple[str, ...]
    category: str = Ticket.Category.INQUIRY
    type: str = Ticket.Type.QUESTION
    priority: str = Ticket.Priority.NORMAL
    technical: bool = False  # goes to Tier 2 (and bugs may go on to Tier 3)


INCIDENT, PROBLEM, TASK = Ticket.Type.INCIDENT, Ticket.Type.PROBLEM, Ticket.Type.TASK
SUG, COMP = Ticket.Category.SUGGESTION, Ticket.Category.COMPLAINT
LOW, HIGH, URG = Ticket.Priority.LOW, Ticket.Priority.HIGH, Ticket.Priority.URGENT

SCENARIOS_EN = [
    Scenario(
        "Refund for order {order} not received yet",
        "Hello,\n\nI returned the {product} from order {order} on {date} and the courier "
        "confirmed delivery to your warehouse, but the refund of {amount} still hasn't reached "
        "my card. Could you check what's holding it up?",
        "I can see the return was scanned at our warehouse. To trace the payment I need the last "
        "four digits of the card you paid with. Could you send those over?",
        "Sure, it's the Visa ending 4417.",
        "Return passed inspection. The refund batch failed at the payment provider; re-queued it "
        "by hand. Check again tomorrow.",
        "Good news: the refund of {amount} was issued today. Banks usually take 3–5 working days "
        "to show it on your statement. Just reply here if it hasn't arrived by next week.",
        ("refund", "billing"),
    ),
    Scenario(
        "Where is my parcel? Order {order}",
        "Hi, my order {order} was supposed to arrive on {date}. The tracking number {tracking} "
        "hasn't updated in four days. Has it been lost?",
        "I'm sorry about the wait. The carrier shows the parcel at their regional hub. Can you "
        "confirm the delivery address, including the flat number, so I can open a trace?",
        "It's Flat 3, 27 Clarence Road, London E5 8HB. Nobody has left a card.",
        "Opened carrier trace CT-88213. If nothing by Friday, reship at our cost (approved).",
        "The carrier found your parcel: it had been mislabelled at the hub. It's out for "
        "delivery today with the same tracking number, {tracking}. Sorry again for the trouble.",
        ("shipping",),
        type=INCIDENT,
    ),
    Scenario(
        "Can't log in – password reset email never arrives",
        "I've tried to reset my password three times this morning and no email arrives, not "
        "even in spam. I need to get into my account to download last month's report.",
        "Sorry about that. Which email address do you use to sign in? Some addresses on our old "
        "domain were migrated and may need updating.",
        "I'm using {email}. That's the one on my invoices too.",
        "Address was on the mail provider's suppression list after a bounce in March. Removed.",
        "Your address had been blocked by our mail provider after an earlier bounce. I've "
        "cleared it and sent a fresh reset link, so it should be with you now.",
        ("login", "account"),
        type=INCIDENT,
        priority=HIGH,
        technical=True,
    ),
    Scenario(
        "Invoice {invoice} – VAT number missing",
        "Our finance team can't process invoice {invoice} because our VAT number isn't on it. "
        "Could you reissue it with VAT number GB 293 4418 07?",
        "Happy to help. Should the invoice also show your registered company name?",
        "Yes please, use the registered name: {org}.",
        "Reissued in the billing admin; the old invoice is voided.",
        "I've reissued invoice {invoice} with your VAT number and registered company name. The "
        "new PDF is in your account under Billing › Invoices; the old one has been cancelled.",
        ("invoice", "billing"),
        type=TASK,
    ),
    Scenario(
        "Export to CSV fails with error 500",
        'When I click Export on the reports page I get "Something went wrong (500)". It worked '
        "last week. I've tried Chrome and Firefox.",
        "Thanks for the report. Does it fail for every date range, or only for ranges longer "
        "than a month?",
        "Only for ranges longer than about six weeks. Shorter ranges export fine.",
        "Reproduced: export times out after 30 s above ~40k rows. Escalated to engineering as "
        "ENG-1482.",
        "Our engineers shipped a fix this morning: large exports now run in the background and "
        "you'll get an email with the file when it's ready. Thanks for the detailed report!",
        ("bug", "reports"),
        type=PROBLEM,
        priority=HIGH,
        technical=True,
    ),
    Scenario(
        "Suggestion: dark mode for the mobile app",
        "Love the app, but I use it a lot in the evening and the white screens are harsh. Any "
        "chance of a dark mode?",
        "Thanks for the suggestion! Should it follow your phone's system setting, or be a "
        "switch inside the app?",
        "Following the system setting would be perfect.",
        "Added a vote to feature request FR-212 (dark mode): 37 votes now.",
        "I've passed this to our product team and added your vote to the dark mode request. "
        "It's planned for next quarter; we'll announce it in the release notes.",
        ("feature-request", "mobile"),
        category=SUG,
        type=TASK,
        priority=LOW,
    ),
    Scenario(
        "Very disappointed with the delivery service",
        "This is the second time this month the courier has left my parcel outside in the rain. "
        "The box was soaked and the {product} inside is damaged. I expect better for what I pay.",
        "I'm really sorry, that's not the experience we want you to have. Could you send a photo "
        "of the damaged {product} and the box? I'll arrange a replacement straight away.",
        "Photos attached. The screen has water marks on the inside.",
        "Second delivery complaint this month. Offered replacement + 20% voucher; flagged the "
        "courier route to logistics.",
        "A replacement {product} is on its way by next-day delivery, signature required, and "
        "there's a 20% voucher on your account as an apology. I've also reported the courier.",
        ("complaint", "shipping"),
        category=COMP,
        type=INCIDENT,
        priority=HIGH,
    ),
    Scenario(
        "Received the wrong size – order {order}",
        "I ordered the running jacket in size M but received an XL (order {order}). How do I "
        "swap it?",
        "Sorry for the mix-up! Would you like an exchange for size M or a full refund?",
        "An exchange please, I still want the M.",
        "M is in stock. Exchange RMA-5521 created, prepaid label sent.",
        "I've emailed you a prepaid return label. We're shipping the size M today, so there's "
        "no need to wait for the XL to come back.",
        ("returns", "shipping"),
    ),
    Scenario(
        "Card declined but money was taken",
        "I tried to pay my subscription renewal. The site said my card was declined, but my bank "
        "shows a charge of {amount}. Have I been charged twice?",
        "Could you tell me the date and exact amount on your statement? A declined payment "
        "sometimes shows as a temporary hold.",
        "{date}, {amount}, marked as pending.",
        "Provider shows an authorisation hold only, no capture. Drops off within 7 days.",
        "That charge is only a temporary hold: no money has been taken, and your bank will "
        "release it within 7 days. Your renewal went through on the second attempt.",
        ("billing", "payment"),
        priority=HIGH,
    ),
    Scenario(
        "Lost my phone – locked out by two-factor authentication",
        "My phone was stolen and I can't get the 2FA codes any more. I don't have the backup "
        "codes either. How can I get back in?",
        "Sorry to hear that. To protect your account I need to verify who you are: please tell "
        "me the number of your last invoice.",
        "The last one was {invoice}, paid on {date}.",
        "Identity checked against billing records. 2FA reset; noted in the audit log.",
        "Thanks, I've verified your identity and reset two-factor authentication. You'll be "
        "asked to set it up again at your next sign-in; keep the new backup codes safe.",
        ("login", "security"),
        type=INCIDENT,
        priority=URG,
        technical=True,
    ),
    Scenario(
        "How do I cancel my subscription?",
        "We're closing our shop at the end of the month. How do I cancel so we aren't charged "
        "again?",
        "Sorry to see you go! Should it end straight away, or at the end of the current billing "
        "period on {due}?",
        "At the end of the period, please.",
        "Set to cancel at period end. Offered a pause instead; declined.",
        "Done: your subscription ends on {due} and you won't be charged again. Your data stays "
        "available for 90 days in case you change your mind.",
        ("billing", "account"),
        type=TASK,
        priority=LOW,
    ),
    Scenario(
        "API returns 429 Too Many Requests",
        "Since yesterday about a third of our calls to the orders endpoint get HTTP 429. We send "
        "roughly 5 requests per second.",
        "Could you send a request ID from one of the failed calls (the X-Request-Id header)? "
        "Then I can see which limit you're hitting.",
        "Here's one: req_8f2c91d04e, at 14:02 UTC.",
        "Customer is on the Starter plan (2 req/s). Sales agreed to a temporary raise.",
        "Your plan allows 2 requests per second. I've raised it to 10 per second for 30 days "
        "while you move to the batch endpoint, which takes up to 100 orders per call.",
        ("api",),
        type=PROBLEM,
        technical=True,
    ),
    Scenario(
        "App crashes when uploading a photo",
        "Every time I attach a photo to a message in the Android app, it closes. Pixel 7, app "
        "version 4.2.1.",
        "Thanks! Does it crash with a screenshot too, or only with camera photos? Could you also "
        "turn on Settings › Send diagnostics so we get the crash log?",
        "Screenshots work. Camera photos crash every time. Diagnostics are on now.",
        "Crash log: out of memory on 50 MP images. Known issue, fixed in 4.2.2 (ENG-1510).",
        "Version 4.2.2 fixes the crash with large camera photos; it's rolling out on Google "
        "Play today. Thanks for the diagnostics, they pinpointed the problem.",
        ("bug", "mobile"),
        type=PROBLEM,
        technical=True,
    ),
    Scenario(
        "Volume discount for 250 units?",
        "We'd like to order 250 units of the {product} for our staff. Do you offer volume "
        "pricing, and what's the lead time?",
        "Thanks for your interest! One delivery address or several offices? And is there a "
        "deadline?",
        "One address in Manchester, ideally before {due}.",
        "Passed to sales. 12% volume discount approved for 250+ units.",
        "For 250 units we can offer 12% off and delivery to Manchester within 10 working days. "
        "I've emailed a formal quote; it's valid for 30 days.",
        ("sales",),
        priority=LOW,
    ),
    Scenario(
        "Please delete my personal data",
        "Under GDPR I'm asking you to delete all personal data you hold about me and to close my "
        "account.",
        "We'll take care of it. Deleting the account also removes your order history and store "
        "credit ({amount}). Shall we go ahead?",
        "Yes, please go ahead.",
        "Request logged as DSR-301. Invoices kept 6 years for tax; the rest erased within 30 days.",
        "Your account is closed and your personal data erased. Invoices are kept for six years "
        "because the law requires it, no longer linked to a profile. Thanks for being a customer.",
        ("privacy", "account"),
        type=TASK,
    ),
    Scenario(
        "Dashboard takes over a minute to load",
        "Our dashboard has become painfully slow: more than a minute to open in the mornings. "
        "Six people on our team are affected.",
        "Roughly what time does it happen, and is the mobile app slow too? A HAR file from your "
        "browser would help a lot.",
        "Mostly between 8:30 and 9:30. Mobile is slow too. HAR file attached.",
        "Slow widget query for accounts with > 100k orders. Engineering is adding an index "
        "(ENG-1533).",
        "We found a slow query behind the dashboard for larger accounts and deployed a fix last "
        "night. It should open in a couple of seconds now; tell us if you still see delays.",
        ("bug", "performance"),
        type=PROBLEM,
        priority=HIGH,
        technical=True,
    ),
    Scenario(
        "Change the delivery address for order {order}",
        "I used my old address for order {order}. Can you change it to 14 Mill Lane, Bristol "
        "BS1 4QD before it ships?",
        "Of course. Should this also become the default address on your account?",
        "Yes, please update it everywhere.",
        "Order still in picking; address updated in the warehouse system.",
        "Caught it in time! Order {order} will go to 14 Mill Lane, Bristol, and your account "
        "address is updated too.",
        ("shipping", "account"),
        type=TASK,
    ),
    Scenario(
        "Feature request: download a year of invoices at once",
        "It would save our accountant a lot of time if we could download all invoices for a "
        "year in one go instead of one by one.",
        "Great idea. Would a ZIP of the individual PDFs work for your accountant?",
        "A ZIP would be fine.",
        "Logged as FR-233. Four other customers asked for this this quarter.",
        "I've logged this with our product team along with a few similar requests. I'll update "
        "this ticket when there's news on the timeline.",
        ("feature-request", "invoice"),
        category=SUG,
        type=TASK,
        priority=LOW,
    ),
    Scenario(
        "Rude response from your phone support",
        "I called your support line yesterday about a faulty {product} and the person I spoke "
        "to was dismissive and hung up on me. I've been a customer for years; this is not "
        "acceptable.",
        "I'm very sorry about that call. Roughly what time did you call, so I can review it "
        "with the team lead?",
        "Around 4:15pm. I waited about 20 minutes to get through.",
        "Call reviewed with the manager. Coaching scheduled; goodwill credit approved.",
        "Thank you for telling us. We reviewed the call and it fell well short of our "
        "standards; it's been addressed with the team. A replacement {product} is on its way "
        "and there's a £25 credit on your account.",
        ("complaint",),
        category=COMP,
        priority=HIGH,
    ),
    Scenario(
        "Is my {product} still under warranty?",
        "My {product} stopped charging. I bought it about 14 months ago. Is it still covered?",
        "Our warranty lasts 24 months, so you're covered. Could you send the serial number "
        "from the bottom of the device?",
        "Serial: SN-4471-2290-K.",
        "Serial valid, bought {date} last year. Warranty swap approved.",
        "Your {product} is covered. I've sent a prepaid label; we ship a replacement within 2 "
        "working days of receiving the faulty unit.",
        ("warranty", "returns"),
    ),
    Scenario(
        "Charged twice for invoice {invoice}",
        "Our card was charged twice for invoice {invoice} ({amount} each). Please refund the "
        "duplicate.",
        "Sorry about this. What are the last four digits of the card, so I can match the two "
        "payments?",
        "Mastercard ending 8830.",
        "Confirmed duplicate capture (provider retry). Refunded the second charge.",
        "You're right: the payment was captured twice after a retry on our side. The duplicate "
        "{amount} is refunded and should show within 3–5 working days.",
        ("refund", "billing"),
        priority=HIGH,
    ),
    Scenario(
        "Single sign-on with Microsoft Entra ID?",
        "We'd like our staff to sign in with their company Microsoft accounts. Do you support "
        "SAML or OIDC single sign-on?",
        "Yes, both, on the Business plan. Which would you prefer, and should new staff be "
        "created automatically at their first sign-in?",
        "SAML please, and yes to automatic provisioning.",
        "SAML metadata sent to their IT team (it@{domain}).",
        "SAML is enabled for your account and the metadata and setup guide are with your IT "
        "team. Once they add the app in Entra ID, staff can sign in with Microsoft.",
        ("login", "sso"),
        type=TASK,
        technical=True,
    ),
]

SCENARIOS_ZH = [
    Scenario(
        "订单{order}退货后退款迟迟未到账",
        "我在{date}把订单{order}的{product}退回了，快递显示仓库已经签收，但{amount}的退款到现在"
        "还没有到账，麻烦帮忙查一下。",
        "退货包裹已经入库了。为了核对付款信息，麻烦提供一下下单手机号的后四位和支付方式"
        "（微信、支付宝还是银行卡）。",
        "手机号后四位是8826，用的是支付宝。",
        "退货质检已通过，支付宝退款接口返回失败，已手动重新发起，明天复核。",
        "{amount}的退款已经原路退回到您的支付宝账户，一般1–3个工作日到账。如果届时仍未收到，"
        "直接回复本工单即可。",
        ("退款", "支付"),
    ),
    Scenario(
        "订单{order}物流一直不更新",
        "我的订单{order}显示{date}发货，快递单号{tracking}，但已经四天没有任何物流更新了，"
        "是不是丢件了？",
        "非常抱歉让您久等。快递公司显示包裹滞留在中转站，麻烦再确认一下收货地址和联系电话，"
        "我们向快递公司发起查件。",
        "地址是上海市浦东新区张杨路1688号3栋502室，电话138****6021。",
        "已向快递公司提交查件，查件号SF-20931。周五前无结果则补发，主管已同意。",
        "快递公司已经找到您的包裹（中转时面单破损），今天派送，单号不变：{tracking}。"
        "给您带来不便，非常抱歉。",
        ("物流",),
        type=INCIDENT,
    ),
    Scenario(
        "无法登录，短信验证码收不到",
        "登录的时候短信验证码一直收不到，已经试了好几次，手机信号正常。急用，麻烦尽快处理。",
        "请问您注册时用的是哪个手机号？另外麻烦确认一下手机是否开启了骚扰短信拦截。",
        "手机号是139****2287，拦截已经关了，还是收不到。",
        "短信服务商对该号段限流，已切换到备用通道。",
        "问题出在短信服务商对部分号段限流，我们已经切换到备用通道。请重新获取验证码试一下，"
        "应该可以正常收到了。",
        ("登录", "账户"),
        type=INCIDENT,
        priority=HIGH,
        technical=True,
    ),
    Scenario(
        "申请开具增值税专用发票",
        "我们公司需要为订单{order}开具增值税专用发票，抬头：{org}，税号：91310115MA1K4B2X7Q。"
        "请问多久能开好？",
        "收到。麻烦再提供一下开户行、银行账号以及公司注册地址和电话，专票需要这些信息。",
        "开户行：招商银行上海张江支行，账号：1219 0865 4310 001，地址电话：上海市浦东新区"
        "科苑路88号 021-5080 1234。",
        "资料已齐，已提交财务，预计3个工作日开出。",
        "发票{invoice}已开具，电子版已发送至您的邮箱，纸质专票今天通过顺丰寄出。",
        ("发票",),
        type=TASK,
    ),
    Scenario(
        "App 上传图片时闪退",
        "安卓版App上传图片的时候直接闪退，手机是小米13，版本4.2.1，重装了也没用。",
        "感谢反馈！用截图上传也会闪退吗？方便的话请在“设置 › 发送诊断信息”里打开日志上传，"
        "方便我们定位问题。",
        "截图可以传，拍的照片就闪退。日志已经打开了。",
        "日志显示大图（5000万像素）内存溢出，已知问题，4.2.2修复（ENG-1510）。",
        "4.2.2版本已经修复了大尺寸照片导致闪退的问题，今天起在各应用商店陆续上线，"
        "更新后即可正常使用。感谢您提供的日志！",
        ("故障", "手机app"),
        type=PROBLEM,
        technical=True,
    ),
    Scenario(
        "建议增加夜间模式",
        "App很好用，就是晚上用的时候屏幕太亮了，建议增加一个夜间模式（深色模式）。",
        "感谢建议！您希望夜间模式跟随手机系统自动切换，还是在App里单独设置开关？",
        "跟随系统就行。",
        "已在需求FR-212下加一票，目前共37票。",
        "您的建议已转给产品团队，深色模式已列入下个季度的开发计划，上线后会在更新说明中通知。",
        ("建议",),
        category=SUG,
        type=TASK,
        priority=LOW,
    ),
    Scenario(
        "投诉：快递员态度恶劣，包裹被损坏",
        "这已经是这个月第二次了，快递员直接把包裹扔在门口，外箱都压扁了，里面的{product}"
        "屏幕也裂了。希望你们给个说法。",
        "非常抱歉给您带来这么糟糕的体验。麻烦拍一下外箱和{product}损坏部位的照片发给我们，"
        "我们马上为您安排换新。",
        "照片已上传，屏幕右下角有裂痕。",
        "本月第二次物流投诉。已安排换新并补偿50元优惠券，快递员问题已反馈给物流合作方。",
        "新的{product}已通过顺丰次日达寄出（需本人签收），同时给您的账户发放了一张50元"
        "优惠券作为补偿。快递员的问题我们也已向物流公司正式投诉。",
        ("投诉", "物流"),
        category=COMP,
        type=INCIDENT,
        priority=HIGH,
    ),
    Scenario(
        "支付失败但是钱被扣了",
        "续费的时候提示支付失败，但是银行卡显示已经扣了{amount}，是不是扣了两次？",
        "麻烦提供一下扣款时间和金额的截图，支付失败有时会产生一笔临时预授权。",
        "{date}扣的，{amount}，截图已上传。",
        "支付平台显示仅为预授权，未实际扣款，7天内自动解冻。",
        "这笔是银行的临时预授权，并没有实际扣款，7个工作日内会自动退回。您的续费在第二次"
        "支付时已经成功，无需再操作。",
        ("支付",),
        priority=HIGH,
    ),
    Scenario(
        "收到的衣服尺码不对，申请换货",
        "订单{order}我买的是M码，收到的是XL，怎么换货？",
        "抱歉发错货了！您是需要换成M码，还是直接退款？",
        "换M码吧。",
        "M码有库存，已生成换货单RMA-5521，上门取件已预约。",
        "已为您预约明天上门取件，M码今天先行发出，不用等退回的商品到仓。",
        ("退换货", "物流"),
    ),
    Scenario(
        "手机丢了，两步验证登录不了",
        "手机丢了，两步验证的动态码收不到，也没有备用码，现在完全登录不了账号。",
        "为了您的账户安全，需要先核实身份：请告知最近一次订单的订单号。",
        "最近一次订单是{order}。",
        "已核对订单信息，身份确认。已重置两步验证并记录审计日志。",
        "身份已核实，两步验证已重置。下次登录时系统会提示您重新绑定，请务必保存好新的备用码。",
        ("登录", "账户安全"),
        type=INCIDENT,
        priority=URG,
        technical=True,
    ),
    Scenario(
        "批量采购能否优惠？",
        "我们公司打算采购300台{product}作为员工福利，请问有没有团购价？大概多久能发货？",
        "感谢您的关注！是发到同一个地址，还是需要分送到多个办公室？有没有截止日期？",
        "全部发到杭州总部，最好{due}之前到。",
        "已转销售，300台以上可以给88折。",
        "300台可以给您88折优惠，杭州地区10个工作日内送达。正式报价单已发到您的邮箱，有效期30天。",
        ("销售",),
        priority=LOW,
    ),
    Scenario(
        "接口频繁返回429错误",
        "从昨天开始，我们调用订单接口大约三分之一的请求返回HTTP 429，我们每秒大概发5个请求。",
        "麻烦提供一个失败请求的请求ID（响应头X-Request-Id），我们查一下命中的是哪个限流策略。",
        "请求ID：req_8f2c91d04e，北京时间22:02。",
        "客户是基础版套餐，限流2次/秒。销售已同意临时提额。",
        "您的账户是基础版，限流为每秒2次。我们已临时把限额提高到每秒10次（30天），建议改用"
        "批量接口，每次最多可提交100个订单。",
        ("接口",),
        type=PROBLEM,
        technical=True,
    ),
    Scenario(
        "发票抬头开错了，需要重开",
        "发票{invoice}的抬头写成了我个人的名字，需要开给公司：{org}。麻烦重开一张。",
        "好的，请提供公司税号，我们帮您作废原发票并重新开具。",
        "税号是91330106MA2H3C5R1E。",
        "原票已作废，重开申请已提交财务。",
        "已重新开具抬头为{org}的电子发票，原发票已作废。新发票已发送到您的邮箱，请查收。",
        ("发票",),
        type=TASK,
    ),
    Scenario(
        "建议支持批量导出发票",
        "每个月都要一张一张下载发票太麻烦了，建议增加按月份批量导出的功能。",
        "感谢建议！批量导出成一个压缩包（每张发票一个PDF）可以满足您的需求吗？",
        "可以的，压缩包就行。",
        "已记录需求FR-233，本季度已有4位客户提出类似需求。",
        "您的建议已提交给产品团队，会和其他客户的类似需求一起跟进，有排期后我们在这个工单里"
        "通知您。",
        ("建议", "发票"),
        category=SUG,
        type=TASK,
        priority=LOW,
    ),
    Scenario(
        "投诉：电话客服态度差还挂电话",
        "昨天下午打客服电话咨询{product}的故障，等了二十多分钟，接通后客服态度很差，没说两句"
        "就挂了电话。非常不满意！",
        "非常抱歉！麻烦告知大概的来电时间和来电号码，我们调取录音核实。",
        "下午四点十五左右，号码是186****3390。",
        "已调取录音，情况属实。已与经理沟通，安排对该客服培训，并给予客户补偿。",
        "经核实，当时的服务确实没有达到我们的标准，非常抱歉。我们已对相关人员进行了处理，"
        "并为您安排{product}免费换新，另赠送100元代金券。",
        ("投诉",),
        category=COMP,
        priority=HIGH,
    ),
    Scenario(
        "{product}还在保修期内吗？",
        "我的{product}充不进电了，大概是14个月前买的，还在保修期内吗？",
        "我们的保修期是24个月，您还在保修期内。麻烦提供一下设备底部的序列号。",
        "序列号：SN-4471-2290-K。",
        "序列号有效，去年{date}购买，同意保修换新。",
        "您的{product}在保修范围内，已为您预约上门取件，收到故障机后2个工作日内寄出新机。",
        ("保修", "退换货"),
    ),
    Scenario(
        "订单{order}需要修改收货地址",
        "订单{order}下单时选错了地址，麻烦改成：北京市朝阳区建国路93号万达广场B座1206。"
        "还没发货吧？",
        "还来得及！以后的订单也默认用这个新地址吗？",
        "是的，默认地址也改一下。",
        "订单还在拣货，已在仓储系统中修改地址。",
        "已经拦截成功，订单{order}会寄往新地址，您账户的默认地址也已更新。",
        ("物流", "账户"),
        type=TASK,
    ),
    Scenario(
        "后台报表打开特别慢",
        "最近每天早上打开后台报表都要一分多钟，我们部门六个人都是这样，严重影响工作。",
        "一般是几点出现？手机端也会慢吗？方便的话请导出一份浏览器的HAR文件发给我们。",
        "主要是早上八点半到九点半，手机上也慢，HAR文件已上传。",
        "订单量超过10万的账户报表查询慢，研发正在加索引（ENG-1533）。",
        "已定位到大数据量账户的报表查询问题，昨晚已发布修复，现在应该几秒内就能打开。如果仍然"
        "很慢请随时告诉我们。",
        ("故障", "性能"),
        type=PROBLEM,
        priority=HIGH,
        technical=True,
    ),
    Scenario(
        "如何取消自动续费？",
        "我不想再自动续费了，在哪里可以关闭？下个月会不会还扣钱？",
        "请问是希望立即取消，还是在当前订阅周期结束（{due}）后停止？",
        "周期结束后停止就行。",
        "已设置周期结束后取消。推荐过暂停订阅，客户不需要。",
        "已为您关闭自动续费，订阅将在{due}到期，之后不会再扣费。您的数据会保留90天。",
        ("账户", "支付"),
        type=TASK,
        priority=LOW,
    ),
    Scenario(
        "申请注销账号并删除个人信息",
        "根据《个人信息保护法》，申请注销我的账号并删除你们保存的我的所有个人信息。",
        "收到您的申请。需要提醒您：注销后订单记录和账户余额（{amount}）将一并清除且无法恢复，"
        "确认继续吗？",
        "确认，请注销。",
        "已登记注销申请（DSR-301）。发票依法保存，其余数据30天内删除。",
        "您的账号已注销，个人信息已删除。根据税务法规，发票记录需保存一定年限，但已与个人资料"
        "解除关联。感谢您一直以来的支持。",
        ("隐私", "账户"),
        type=TASK,
    ),
    Scenario(
        "同一张发票被扣了两次款",
        "发票{invoice}的款项被扣了两次，每次{amount}，请退还多扣的那笔。",
        "抱歉！麻烦提供一下扣款银行卡的后四位，我们核对两笔支付记录。",
        "工商银行卡，尾号5521。",
        "确认是支付渠道重试导致重复扣款，已退款。",
        "经核实是系统重试导致重复扣款，多扣的{amount}已原路退回，预计3–5个工作日到账。"
        "给您添麻烦了。",
        ("退款", "支付"),
        priority=HIGH,
    ),
    Scenario(
        "请问支持货到付款吗？",
        "你好，请问你们支持货到付款吗？新疆地区能不能发货？",
        "新疆地区可以发货，一般5–7天送达。货到付款目前只支持部分城市，请问您在哪个城市？",
        "乌鲁木齐。",
        "乌鲁木齐不在货到付款范围内。",
        "乌鲁木齐暂时不支持货到付款，可以用微信支付或支付宝下单，支持7天无理由退货。"
        "有其他问题随时联系我们！",
        ("售前咨询",),
        priority=LOW,
    ),
]

PRODUCTS = {
    EN: ["Bluetooth speaker", "smart speaker", "fitness watch", "coffee grinder", "tablet",
         "e-reader", "desk lamp", "robot vacuum"],
    ZH: ["无线耳机", "智能音箱", "运动手表", "咖啡机", "平板电脑", "电子书阅读器", "护眼台灯",
         "扫地机器人"],
}  # fmt: skip
COMPANIES = {EN: ["Harbour & Pine Ltd", "Blue Fern Studio Ltd"], ZH: ["上海青禾文化传媒有限公司"]}

CANNED = {
    EN: [
        ("Acknowledge: we're on it",
         "Hi {{ contact.name }},\n\nThanks for getting in touch. Your request is ticket "
         "#{{ ticket.number }} and I'm looking into it now. I'll update you within one working "
         "day.\n\nKind regards,\n{{ agent.name }}"),
        ("Ask for the order number",
         "Hi {{ contact.name }},\n\nCould you send me your order number (it starts with SO- and "
         "is in your confirmation email)? Then I can look up ticket #{{ ticket.number }} "
         "straight away.\n\nThanks,\n{{ agent.name }}"),
        ("Refund issued",
         "Hi {{ contact.name }},\n\nYour refund has been issued today. Banks usually take 3–5 "
         "working days to show it on your statement. If it hasn't arrived by then, just reply "
         "to this message (ticket #{{ ticket.number }}).\n\nKind regards,\n{{ agent.name }}"),
        ("Shipping delay apology",
         "Hi {{ contact.name }},\n\nI'm sorry your parcel is late. I've opened a trace with the "
         "carrier and will update ticket #{{ ticket.number }} as soon as I hear back, within 48 "
         "hours at the latest.\n\nKind regards,\n{{ agent.name }}"),
        ("Password reset steps",
         "Hi {{ contact.name }},\n\nTo reset your password, open the sign-in page, choose "
         "\"Forgot password?\" and enter the email address on your account. The link is valid "
         "for one hour. If no email arrives within 5 minutes, check your spam folder and reply "
         "here.\n\nBest,\n{{ agent.name }}"),
        ("Invoice reissued",
         "Hi {{ contact.name }},\n\nI've reissued your invoice with the corrected details. You "
         "can download it from Billing › Invoices in your account.\n\nKind regards,\n"
         "{{ agent.name }}"),
        ("Feature request logged",
         "Hi {{ contact.name }},\n\nThanks for the suggestion! I've logged it with our product "
         "team and linked it to ticket #{{ ticket.number }}, so we can let you know when there's "
         "news.\n\nBest,\n{{ agent.name }}"),
    ],
    ZH: [
        ("确认收到，正在处理",
         "{{ contact.name }}，您好！\n\n您的问题已登记为工单 #{{ ticket.number }}，我正在为您"
         "处理，会在一个工作日内给您答复。\n\n{{ agent.name }}"),
        ("请提供订单号",
         "{{ contact.name }}，您好！\n\n麻烦提供一下您的订单号（在下单确认短信或邮件中），"
         "方便我们尽快查询工单 #{{ ticket.number }} 的情况。\n\n{{ agent.name }}"),
        ("退款已处理",
         "{{ contact.name }}，您好！\n\n您的退款已经原路退回，一般1–3个工作日到账。如果届时仍未"
         "收到，请直接回复本工单（#{{ ticket.number }}）。\n\n{{ agent.name }}"),
        ("物流延迟致歉",
         "{{ contact.name }}，您好！\n\n非常抱歉您的包裹延迟了。我们已向快递公司发起查件，"
         "48小时内会在工单 #{{ ticket.number }} 中给您回复。\n\n{{ agent.name }}"),
        ("重置密码步骤",
         "{{ contact.name }}，您好！\n\n请在登录页点击“忘记密码”，输入账户绑定的手机号或邮箱，"
         "按提示重置即可，链接一小时内有效。如5分钟内未收到，请检查垃圾邮件后回复我们。"
         "\n\n{{ agent.name }}"),
        ("发票已开具",
         "{{ contact.name }}，您好！\n\n您的发票已开具，电子版已发送至您的邮箱，也可以在"
         "“账户 › 发票”中下载。\n\n{{ agent.name }}"),
        ("建议已记录",
         "{{ contact.name }}，您好！\n\n感谢您的宝贵建议！我们已转交产品团队，并关联到工单 "
         "#{{ ticket.number }}，有进展会第一时间通知您。\n\n{{ agent.name }}"),
    ],
}  # fmt: skip
PERSONAL_CANNED = {
    EN: ("My follow-up: no reply in 3 days",
         "Hi {{ contact.name }},\n\nJust checking in on ticket #{{ ticket.number }}: did my last "
         "message solve it? If I don't hear back in a few days I'll close the ticket, but you "
         "can reopen it any time by replying.\n\nCheers,\n{{ agent.name }}"),
    ZH: ("我的跟进：三天未回复",
         "{{ contact.name }}，您好！\n\n想跟进一下工单 #{{ ticket.number }}：上次的回复解决您的"
         "问题了吗？如果几天内没有收到您的回复，我会先关闭工单，您随时回复即可重新打开。"
         "\n\n{{ agent.name }}"),
}  # fmt: skip

# Status mix for one tenant's tickets; the rest (MERGES) are duplicates, merged into others.
STATUS_MIX = (
    [S.NEW] * 9 + [S.OPEN] * 16 + [S.PENDING] * 9 + [S.ON_HOLD] * 5 + [S.SOLVED] * 10
    + [S.CLOSED] * 8
)  # fmt: skip
MERGES = TICKETS_PER_TENANT - len(STATUS_MIX)
AGE_DAYS = {  # how long ago a ticket of each status was opened
    S.NEW: (0.02, 2),
    S.OPEN: (0.5, 12),
    S.PENDING: (1, 14),
    S.ON_HOLD: (3, 20),
    S.SOLVED: (1, 9),  # most were solved this week
    S.CLOSED: (9, 29.5),
}
CHANNELS = {  # per language of the tenant: weights of the channels
    EN: {C.EMAIL: 34, C.WEB: 20, C.CHAT: 16, C.PHONE: 10, C.PORTAL: 12, C.WECHAT: 8},
    ZH: {C.WECHAT: 30, C.EMAIL: 18, C.WEB: 14, C.CHAT: 16, C.PHONE: 10, C.PORTAL: 12},
}
CHATTY = {C.CHAT, C.WECHAT}


# --- The seeder -----------------------------------------------------------------------------


def seed_tickets(tenant: Tenant, spec: DemoTenant) -> None:
    """Seeder for helpdesk.demo.SEEDERS; runs inside `tenant`'s context."""
    orgs = _organizations(spec.slug)
    admin = User.objects.get(email__iexact=f"admin@{spec.slug}.test")
    contacts = _contacts(spec.slug, orgs, admin=admin) + list(
        Contact.objects.filter(email__in=list(spec.customers)).order_by("email")
    )
    staff = {
        local: User.objects.get(email__iexact=f"{local}@{spec.slug}.test") for local in spec.staff
    }
    teams = _teams(staff, admin=staff["admin"])
    _canned(spec.language, admin=staff["admin"], owner=staff["agent1"])
    if Ticket.objects.exists():
        return
    _Story(tenant, spec, contacts=contacts, staff=staff, teams=teams).tell()


def _organizations(slug: str) -> list[Organization]:
    return [
        Organization.objects.get_or_create(
            name=org.name, defaults={"domain": org.domain, "tier": org.tier}
        )[0]
        for org in ORGS.get(slug, [])
    ]


def _contacts(slug: str, orgs: list[Organization], *, admin: User) -> list[Contact]:
    out = []
    for person in CONTACTS.get(slug, []):
        org = orgs[person.org] if person.org is not None else None
        contact, created = Contact.objects.get_or_create(
            email=person.email,
            defaults={
                "name": person.name,
                "phone": person.phone,
                "language": person.language,
                "organization": org,
            },
        )
        if created:
            kinds = [(ContactIdentity.Kind.EMAIL, person.email)]
            kinds.append((ContactIdentity.Kind.PHONE, person.phone.replace(" ", "")))
            if person.language == ZH:
                kinds.append((ContactIdentity.Kind.WECHAT, "wxid_" + person.email.split("@")[0]))
            for kind, value in kinds[1:]:  # the email address itself is the primary one
                contact_services.contact_add_identity(
                    contact=contact, kind=kind, value=value, actor=admin
                )
        out.append(contact)
    return out


def _teams(staff: dict[str, User], *, admin: User) -> dict[int, Team]:
    teams = {}
    for name, tier, skills, description, members in TEAMS:
        team = Team.objects.filter(name__iexact=name).first() or admin_services.team_create(
            actor=admin, name=name, tier=tier, skills=skills, description=description
        )
        joined = set(TeamMember.objects.filter(team=team).values_list("user_id", flat=True))
        for local in members:
            if local in staff and staff[local].pk not in joined:
                admin_services.team_add_member(
                    team=team, user=staff[local], actor=admin, skills=skills
                )
        teams[tier] = team
    return teams


def _canned(language: str, *, admin: User, owner: User) -> None:
    if CannedResponse.objects.exists():
        return
    texts = CANNED[ZH if language == ZH else EN]
    for title, body in texts:
        admin_services.canned_create(
            actor=admin, title=title, body=body, language=language, shared=True
        )
    title, body = PERSONAL_CANNED[ZH if language == ZH else EN]
    admin_services.canned_create(
        actor=owner, title=title, body=body, language=language, shared=False
    )


@dataclass
class _Plan:
    """One ticket's story, decided before any of it is written."""

    scenario: Scenario
    language: str
    status: str
    requester: Contact
    channel: str
    values: dict[str, str]
    steps: list[tuple[str, datetime]] = field(default_factory=list)
    duplicate_of: _Plan | None = None  # a second ticket about the same thing, merged later
    ticket: Ticket | None = None

    @property
    def start(self) -> datetime:
        return self.steps[0][1]

    @property
    def end(self) -> datetime:
        return self.steps[-1][1]


class _Story:
    def __init__(self, tenant: Tenant, spec: DemoTenant, *, contacts, staff, teams) -> None:
        self.tenant = tenant
        self.rng = random.Random(f"helpdesk-demo-tickets-{spec.slug}")
        self.tz = ZoneInfo(tenant.timezone)
        # Rows written from now on are new; each step backdates what it just wrote.
        self.now = timezone.now()
        self.home = ZH if spec.language == ZH else EN
        self.portal = [c for c in contacts if c.user_id]
        self.by_language: dict[str, list[Contact]] = {EN: [], ZH: []}
        for contact in contacts:
            self.by_language[ZH if contact.language == ZH else EN].append(contact)
        self.teams = teams
        self.tier1 = [staff[k] for k in ("agent1", "agent2") if k in staff]
        self.tier2 = staff.get("tier2") or self.tier1[0]
        self.manager = staff.get("manager")

    def tell(self) -> None:
        plans = self._plans()
        duplicates = self._duplicates(plans)
        # Written in the order it happened, so ticket numbers grow with time.
        for plan in sorted(plans + duplicates, key=lambda p: p.start):
            plan.ticket = self._create_duplicate(plan) if plan.duplicate_of else self._tell(plan)
        for plan in duplicates:
            self._merge(plan)
        self._link_and_follow(plans)

    # --- planning ---

    def _plans(self) -> list[_Plan]:
        rng = self.rng
        statuses = list(STATUS_MIX)
        rng.shuffle(statuses)
        pools = {EN: list(SCENARIOS_EN), ZH: list(SCENARIOS_ZH)}
        for pool in pools.values():
            rng.shuffle(pool)
        used = {EN: 0, ZH: 0}
        plans = []
        for status in statuses:
            # Most tickets are in the tenant's own language, some in the other one.
            other = EN if self.home == ZH else ZH
            language = self.home if rng.random() < 0.82 else other
            if status == S.ON_HOLD:  # on hold: mostly waiting for the engineers
                defects = [s for s in pools[language] if s.type == PROBLEM]
                scenario = defects[used[language] % len(defects)]
            else:
                scenario = pools[language][used[language] % len(pools[language])]
            used[language] += 1
            channel = self._channel(language)
            requester = self._requester(language, channel)
            if channel == C.PORTAL and not requester.user_id:
                channel = C.WEB
            plan = _Plan(scenario, language, status, requester, channel,
                         self._values(language, requester))  # fmt: skip
            kinds = self._step_kinds(status)
            plan.steps = list(zip(kinds, self._times(self._start(status), kinds), strict=True))
            plans.append(plan)
        return plans

    def _duplicates(self, plans: list[_Plan]) -> list[_Plan]:
        """A few customers wrote twice about the same thing; an agent merged the second."""

        def waited(plan: _Plan) -> timedelta:  # until someone answered, or until now
            later = plan.steps[1][1] if len(plan.steps) > 1 else self.now
            return later - plan.start

        candidates = [
            p for p in plans
            if p.status in {S.OPEN, S.PENDING} and len(p.steps) <= 3
            and waited(p) > timedelta(hours=2)
        ]  # fmt: skip
        out = []
        for target in self.rng.sample(candidates, min(MERGES, len(candidates))):
            # "Still no answer?": written while the first message was waiting for a reply.
            start = target.start + waited(target) * self.rng.uniform(0.4, 0.8)
            merged = min(start + timedelta(minutes=self.rng.randint(10, 25)),
                         self.now - timedelta(minutes=10))  # fmt: skip
            start = min(start, merged - timedelta(minutes=5))
            channel = C.EMAIL if target.channel != C.EMAIL else C.WEB
            plan = _Plan(target.scenario, target.language, S.CLOSED, target.requester, channel,
                         target.values, steps=[("first", start), ("merge", merged)],
                         duplicate_of=target)  # fmt: skip
            out.append(plan)
        return out

    def _channel(self, language: str) -> str:
        weights = dict(CHANNELS[self.home])
        if language == EN and self.home == ZH:
            del weights[C.WECHAT]  # foreign customers write by email, web form or chat
        return self.rng.choices(list(weights), list(weights.values()))[0]

    def _requester(self, language: str, channel: str) -> Contact:
        if channel == C.PORTAL:
            same = [c for c in self.portal if (c.language or self.home) == language]
            if same:
                return self.rng.choice(same)
        return self.rng.choice(self.by_language[language] or self.portal)

    def _values(self, language: str, requester: Contact) -> dict[str, str]:
        rng = self.rng
        past = self.now - timedelta(days=rng.randint(3, 12))
        due = self.now + timedelta(days=rng.randint(5, 25))
        email = requester.email or "customer@mail.test"
        if language == ZH:
            values = {
                "order": f"DD{past:%Y%m%d}{rng.randint(1000, 9999)}",
                "tracking": f"SF{rng.randint(10**11, 10**12 - 1)}",
                "invoice": f"No.{rng.randint(10000000, 99999999)}",
                "amount": f"{rng.choice([199, 299, 468, 899, 1299, 2599])}.00",
                "date": f"{past.month}月{past.day}日",
                "due": f"{due.month}月{due.day}日",
            }
        else:
            values = {
                "order": f"SO-{rng.randint(100000, 999999)}",
                "tracking": f"JD{rng.randint(10**13, 10**14 - 1)}GB",
                "invoice": f"INV-{past:%Y}-{rng.randint(1000, 9999)}",
                "amount": f"{rng.choice([24.99, 49.00, 79.99, 129.00, 249.00, 399.99]):.2f}",
                "date": f"{past.day} {past:%B}",
                "due": f"{due.day} {due:%B}",
            }
        # Prices are in the shop's currency, whatever language the customer writes in.
        values["amount"] = ("¥" if self.home == ZH else "£") + values["amount"]
        org = requester.organization.name if requester.organization_id else ""
        values.update(
            product=rng.choice(PRODUCTS[language]),
            org=org or rng.choice(COMPANIES[language]),
            email=email,
            domain=email.split("@")[-1],
        )
        return values

    def _step_kinds(self, status: str) -> list[str]:
        """The messages and changes a ticket goes through, by the status it ends in."""
        choice = self.rng.choice
        if status == S.NEW:
            return ["first"]
        if status == S.OPEN:
            return choice([["first"], ["first", "note"], ["first", "ask", "answer"],
                           ["first", "ask", "answer", "note"]])  # fmt: skip
        if status == S.PENDING:
            return choice([["first", "ask"], ["first", "note", "ask"]])
        if status == S.ON_HOLD:
            return choice([["first", "hold"], ["first", "ask", "answer", "hold"]])
        solved = choice([["first", "solve"], ["first", "ask", "answer", "solve"]])
        return solved + (["close"] if status == S.CLOSED else [])

    def _start(self, status: str) -> datetime:
        low, high = AGE_DAYS[status]
        local = (self.now - timedelta(days=self.rng.uniform(low, high))).astimezone(self.tz)
        # Drawn whether used or not: the random sequence must not depend on the time of day
        # the seed runs at, or the same seed tells a different story every hour.
        hour, minute = self.rng.randint(8, 18), self.rng.randint(0, 59)
        if not 8 <= local.hour < 20:  # people mostly write in during the day
            local = local.replace(hour=hour, minute=minute)
            if local > self.now:
                local -= timedelta(days=1)
        return local

    def _times(self, start: datetime, kinds: list[str]) -> list[datetime]:
        gaps = {"ask": (0.3, 6), "answer": (1, 20), "note": (0.2, 3), "hold": (0.5, 8),
                "solve": (1, 24), "close": (72, 100)}  # hours  # fmt: skip
        times, moment = [], start
        for kind in kinds:
            if kind != "first":
                moment = self._waking(moment + timedelta(hours=self.rng.uniform(*gaps[kind])))
            times.append(moment)
        latest = self.now - timedelta(minutes=10)
        if times[-1] > latest:  # the story must have happened already: slide it back
            shift = times[-1] - latest
            times = [t - shift for t in times]
        return times

    def _waking(self, moment: datetime) -> datetime:
        """Agents work, and customers mostly write, between 8:00 and 21:00 local time."""
        local = moment.astimezone(self.tz)
        late = timedelta(minutes=self.rng.randint(5, 150))  # drawn either way (see _start)
        if 8 <= local.hour < 21:
            return moment
        morning = local if local.hour < 8 else local + timedelta(days=1)
        return morning.replace(hour=8, minute=0) + late

    # --- writing, through tickets.services ---

    def _assignment(self, plan: _Plan) -> tuple[User | None, Team]:
        team = self.teams[2] if plan.scenario.technical else self.teams[1]
        if plan.status == S.NEW:
            return None, self.teams[1]
        if plan.status == S.OPEN and self.rng.random() < 0.15:
            return None, team  # open in the team's queue; nobody has picked it up yet
        return (self.tier2 if plan.scenario.technical else self.rng.choice(self.tier1)), team

    def _priority(self, plan: _Plan) -> str:
        order = list(Ticket.Priority.values)
        index = order.index(plan.scenario.priority)
        index += plan.requester.effective_tier == CustomerTier.VIP
        roll = self.rng.random()
        index += -1 if roll < 0.15 else (1 if roll > 0.9 else 0)
        return order[max(0, min(index, len(order) - 1))]

    def _text(self, plan: _Plan, kind: str, author: User | None = None) -> str:
        text = getattr(plan.scenario, kind).format_map(plan.values)
        zh, name = plan.language == ZH, plan.requester.name
        if kind == "first" and plan.channel == C.PHONE:
            lead = f"来电记录：{name}，客户反映：" if zh else f"Call from {name}. They said:"
            return f"{lead}\n\n{text}"
        if kind == "first" and plan.channel == C.EMAIL:
            return f"{text}\n\n谢谢！\n{name}" if zh else f"{text}\n\nThanks,\n{name.split()[0]}"
        if author is None or kind == "note" or plan.channel in CHATTY:
            return text
        if zh:
            return f"{name}，您好！\n\n{text}\n\n{author.get_full_name()}\n{self.tenant.name}"
        first_name = name.split()[0]
        signature = f"{author.get_short_name()}\n{self.tenant.name}"
        return f"Hi {first_name},\n\n{text}\n\nKind regards,\n{signature}"

    def _tell(self, plan: _Plan) -> Ticket:
        scenario = plan.scenario
        assignee, team = self._assignment(plan)
        agent = assignee or self.rng.choice(self.tier1)
        by_phone = plan.channel == C.PHONE
        tags = list(scenario.tags)
        if plan.requester.effective_tier == CustomerTier.VIP:
            tags.append("vip")
        ticket = services.ticket_create(
            requester=plan.requester,
            subject=scenario.subject.format_map(plan.values),
            body_text=self._text(plan, "first"),
            channel=plan.channel,
            actor=agent if by_phone else None,
            created_by_agent=by_phone,  # a phone call is written up by the agent who took it
            priority=self._priority(plan),
            type=scenario.type,
            category=scenario.category,
            team=team,
            assignee=assignee,
            tags=tags,
            language=plan.language,
        )
        self._backdate(ticket, plan.start)
        replied: list[datetime] = []
        for kind, moment in plan.steps[1:]:
            if kind in {"ask", "solve"}:
                final = {"ask": S.PENDING if plan.status == S.PENDING else None, "solve": S.SOLVED}
                services.ticket_reply(ticket=ticket, author=agent, set_status=final[kind],
                                      body_text=self._text(plan, kind, agent))  # fmt: skip
                replied.append(moment)
            elif kind == "answer":
                services.ticket_add_inbound(ticket=ticket, contact=plan.requester,
                                            body_text=self._text(plan, "answer"))  # fmt: skip
            elif kind in {"note", "hold"}:
                services.ticket_add_note(ticket=ticket, author=agent, body_text=scenario.note)
            if kind == "hold":
                changes: dict = {"status": S.ON_HOLD}
                if scenario.type == PROBLEM:
                    changes["team"] = self.teams[3]  # a product defect: engineering has it
                reason = "等待研发处理" if plan.language == ZH else "waiting on engineering"
                services.ticket_update(ticket=ticket, actor=agent, reason=reason, **changes)
            elif kind == "close":
                reason = "closed automatically 3 days after it was solved"
                services.ticket_update(ticket=ticket, actor=None, reason=reason, status=S.CLOSED)
            self._backdate(ticket, moment, replied=kind in {"ask", "solve"})
        if plan.status == S.OPEN and ticket.status == S.NEW:  # triaged into a queue
            services.ticket_update(ticket=ticket, actor=agent, status=S.OPEN)
            self._backdate(ticket, plan.end)
        dates = {"created_at": plan.start, "last_activity_at": plan.end, "updated_at": plan.end}
        if replied:
            dates["first_response_at"] = replied[0]
        if plan.status in {S.SOLVED, S.CLOSED}:
            dates["solved_at"] = replied[-1]
        Ticket.objects.filter(pk=ticket.pk).update(**dates)
        return ticket

    def _create_duplicate(self, plan: _Plan) -> Ticket:
        zh = plan.language == ZH
        body = (
            "我之前已经反映过这个问题，到现在还没有解决，麻烦尽快处理！"
            if zh
            else "I wrote to you about this already and haven't heard back. Any news?"
        )
        target = plan.duplicate_of
        ticket = services.ticket_create(
            requester=plan.requester,
            subject=("催一下：" if zh else "Re: ") + target.ticket.subject,
            body_text=body,
            channel=plan.channel,
            priority=target.ticket.priority,
            category=target.scenario.category,
            type=target.scenario.type,
            language=plan.language,
        )
        self._backdate(ticket, plan.start)
        Ticket.objects.filter(pk=ticket.pk).update(
            created_at=plan.start, last_activity_at=plan.start, updated_at=plan.start
        )
        return ticket

    def _merge(self, plan: _Plan) -> None:
        target = plan.duplicate_of
        merged_at = plan.end
        agent = target.ticket.assignee or self.rng.choice(self.tier1)
        services.ticket_merge(source=plan.ticket, target=target.ticket, actor=agent)
        for ticket in (plan.ticket, target.ticket):
            self._backdate(ticket, merged_at)
        Ticket.objects.filter(pk=plan.ticket.pk).update(
            last_activity_at=merged_at, updated_at=merged_at
        )
        Ticket.objects.filter(pk=target.ticket.pk).update(
            last_activity_at=max(target.end, plan.start), updated_at=max(target.end, merged_at)
        )

    def _link_and_follow(self, plans: list[_Plan]) -> None:
        """Tickets about the same defect are linked; the manager follows open complaints."""
        by_scenario: dict[str, list[_Plan]] = {}
        for plan in plans:
            if plan.scenario.type == PROBLEM:
                by_scenario.setdefault(plan.scenario.subject, []).append(plan)
        for same in by_scenario.values():
            if len(same) >= 2:
                first, second = sorted(same, key=lambda p: p.start)[:2]
                services.ticket_link(ticket=first.ticket, other=second.ticket, actor=self.tier2)
                for ticket in (first.ticket, second.ticket):
                    self._backdate(ticket, second.start + timedelta(minutes=30))
        for plan in plans:
            complaint = plan.scenario.category == COMP
            if complaint and plan.status not in {S.SOLVED, S.CLOSED} and self.manager:
                services.ticket_follow(ticket=plan.ticket, user=self.manager)

    def _backdate(self, ticket: Ticket, moment: datetime, *, replied: bool = False) -> None:
        """Date what the last service call wrote to the moment it happens in the story. A
        reply from the past was delivered in the past: it is marked sent, so nothing mails it
        today (the delivery task queued on commit finds it sent and skips it)."""
        new = Message.objects.filter(ticket=ticket, created_at__gte=self.now)
        if replied:
            new.filter(delivery_status=Message.Delivery.PENDING).update(
                delivery_status=Message.Delivery.SENT, sent_at=moment, delivery_changed_at=moment
            )
        new.update(created_at=moment)
        TicketEvent.objects.filter(ticket=ticket, created_at__gte=self.now).update(
            created_at=moment
        )
