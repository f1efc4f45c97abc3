"""What the inbound email pipeline must make of each raw message in this folder.

One dict per .eml file, read by tests/channels_in/test_email_corpus.py. Texts are compared with
CRLF normalised to LF. Placeholders in the files and in these values are filled in by the test:
{{TICKET}} (the set-up ticket's number), {{OUR_MESSAGE_ID}} (the Message-ID of our outbound
reply on it), {{REPLY_ADDRESS}} (tickets.outbound.reply_address of that ticket) and {{SUPPORT}}
(the tenant's support address).

Parse level (channels_in.email_parse.parse_email):
  sender, sender_name, subject, message_id, in_reply_to, references  exact values
  text / html                exact (after CRLF -> LF); text_contains, text_excludes, text_once
                             (appears exactly once); html_contains, html_excludes
  attachments                the exact list, in order: filename and content_type, plus inline,
                             content_id and size where given (default: no attachments)
  notes                      how many parse notes (default 0; None: not checked); notes_contain
  auto                       bool(parsed.auto_reason) (default False); auto_reason_contains
  bounce                     parsed.is_bounce (default False; None: not checked);
                             bounced_message_ids, bounced_recipients exact lists
  max_attachment_mb          the limit (parse_email's max_attachment_bytes, and a ChannelSettings
                             row in the tenant for receive_email)
  parse_error                parse_email raises EmailParseError with this text

receive_email(raw, via="command") inside tenant_context(tenant_a):
  setup          None | "ticket" | "closed_ticket": a ticket from `requester` (default
                 li.lei@customer.test) with our outbound reply {{OUR_MESSAGE_ID}}
  closed_reply   ChannelSettings.closed_reply for the tenant
  deliver_first  another corpus file received (and processed) before this one
  outcome        "new" (a new ticket), "threaded" (onto the set-up ticket), "followup" (a new
                 ticket linked to the closed one), "reopened" (the closed ticket reopened),
                 "duplicate" (the deliver_first message and ticket, nothing written),
                 "bounce" (internal note on the set-up ticket, our reply marked failed),
                 "kept" (processed, no ticket), "failed" (status failed, raw kept, error set);
                 None: only the other receive checks
  thread_reason_contains, error_contains, ticket_subject, author (the stored message's contact;
  default: sender), body_text (exact), body_contains, body_excludes, body_html_contains,
  body_html_excludes, stored_attachments (filenames; default: the parsed attachments),
  outbound_status (our reply's delivery_status; default "sent"), bounced_addresses
  (channels_in BouncedAddress rows; default none), tickets_created (default from outcome),
  distinct_from_first, redeliver (the same bytes again -> stored as duplicate)
  xfail_parse / xfail_receive: a known pipeline bug; the test is xfail(strict=True).
"""

REQUESTER = "li.lei@customer.test"
QQ_REQUESTER = "1234567@qq.com"
LONG_SUBJECT = ("ERROR 504 gateway timeout on /api/orders again; " * 13)[:600]
ORIGINAL_SUBJECT = "Order 1001 not delivered"
DUPLICATE_TEXT = (
    "Bonjour, la facture n° 2026-118 est introuvable dans l'espace client. Merci d'avance."
)

CASES = [
    # --- Encodings ---------------------------------------------------------------------------
    {
        "file": "plain_ascii.eml",
        "about": "plain 7-bit ASCII, CRLF, delivered twice byte for byte",
        "sender": "jane.doe@customer.test",
        "sender_name": "Jane Doe",
        "subject": "Cannot log in to the portal",
        "message_id": "<CAJ7x2b1-plain-0001@mail.customer.test>",
        "in_reply_to": [],
        "references": [],
        "text": (
            "Hello,\n\nSince this morning I cannot log in to the customer portal. The page says\n"
            '"invalid session" after I enter my password.\n\nThanks,\nJane'
        ),
        "html": "",
        "outcome": "new",
        "ticket_subject": "Cannot log in to the portal",
        "body_contains": ['"invalid session"'],
        "redeliver": True,
    },
    {
        "file": "utf8_quoted_printable.eml",
        "about": "UTF-8 quoted-printable body with soft line breaks, Q-encoded subject and name",
        "sender": "zoe@kunde.example.de",
        "sender_name": "Zoë Müller",
        "subject": "Rückerstattung für Bestellung № 4711",
        "text_contains": [
            "ich möchte eine Rückerstattung für Bestellung № 4711 beantragen. Der Betrag von "
            "129,00 € wurde doppelt abgebucht, einmal am 1. März und einmal am 2. März — bitte "
            "prüfen Sie das.",
            "Mit freundlichen Grüßen / 谢谢 🙏",
        ],
        "text_excludes": ["=\n", "=C3", "=E2"],
        "outcome": "new",
        "ticket_subject": "Rückerstattung für Bestellung № 4711",
        "body_contains": ["129,00 €", "谢谢 🙏"],
    },
    {
        "file": "gb2312_base64.eml",
        "about": "Outlook (Chinese): GB2312 base64 text and HTML, RFC 2047 GB2312 subject/name",
        "sender": "wang.xiaojie@example.cn",
        "sender_name": "王晓洁",
        "subject": "关于发票抬头的问题",
        "message_id": "<000001dca1b2$3c4d5e60$b5e81a20$@example.cn>",
        "text": (
            "您好：\n\n我们公司的发票抬头需要修改为“北京某某科技有限公司”，请问如何办理？\n\n"
            "谢谢！\n王晓洁"
        ),
        "html_contains": ["<p>谢谢！<br>王晓洁</p>"],
        "outcome": "new",
        "ticket_subject": "关于发票抬头的问题",
        "body_contains": ["北京某某科技有限公司"],
        "body_html_contains": ["北京某某科技有限公司"],
    },
    {
        "file": "gbk_chars_labelled_gb2312.eml",
        "about": "Foxmail: GBK-only characters (喆 堃 镕) in parts and words labelled GB2312",
        "sender": "chenzhe@corp.example.cn",
        "sender_name": "陈喆",
        "subject": "陈喆和王堃的账户无法登录",
        "text": (
            "您好，我是陈喆。\n同事王堃和李镕也遇到同样的问题：账户登录后立即退出。\n"
            "请尽快处理，谢谢。"
        ),
        "text_excludes": ["\ufffd"],
        "html_contains": ["王堃和李镕"],
        "html_excludes": ["\ufffd"],
        "outcome": "new",
        "ticket_subject": "陈喆和王堃的账户无法登录",
        "body_contains": ["王堃和李镕"],
    },
    {
        "file": "gb18030_8bit.eml",
        "about": "GB18030 8-bit body with four-byte sequences (𠮷, 䶮) and €",
        "sender": "ayiguli@example.cn",
        "sender_name": "阿依古丽",
        "subject": "收件人“𠮷野家”的快递",
        "text_contains": ["“𠮷野家 · 阿依古丽”", "生僻字“䶮”", "付款 €30"],
        "text_excludes": ["\ufffd"],
        "outcome": "new",
        "ticket_subject": "收件人“𠮷野家”的快递",
        "body_contains": ["𠮷野家"],
    },
    {
        "file": "big5_8bit.eml",
        "about": "Big5 8-bit body with an HKSCS character (㗎), Big5 subject",
        "sender": "taiman@example.com.hk",
        "sender_name": "陳大文",
        "subject": "請問訂單何時出貨",
        "text_contains": ["訂單編號 TW-20260301", "麻煩幫忙查詢，唔該晒㗎。"],
        "text_excludes": ["\ufffd"],
        "outcome": "new",
        "ticket_subject": "請問訂單何時出貨",
        "body_contains": ["唔該晒㗎"],
    },
    {
        "file": "iso2022jp.eml",
        "about": "Japanese ISO-2022-JP 7-bit body and subject",
        "sender": "t.yamada@example.co.jp",
        "sender_name": "山田 太郎",
        "subject": "注文のキャンセルについて",
        "text": (
            "お世話になっております。\n注文番号 JP-7788 をキャンセルしたいです。\n"
            "よろしくお願いいたします。\n山田 太郎"
        ),
        "text_excludes": ["\x1b"],
        "outcome": "new",
        "ticket_subject": "注文のキャンセルについて",
    },
    {
        "file": "utf8_8bit_headers.eml",
        "about": "raw (unencoded) UTF-8 in From and Subject",
        "sender": "zhang.wei@example.cn",
        "sender_name": "张伟",
        "subject": "退款申请 – 订单 88231",
        "text": "你好，订单 88231 的商品有破损，申请退款。",
        "outcome": "new",
        "ticket_subject": "退款申请 – 订单 88231",
        "xfail_parse": (
            "email_parse._header: compat32 returns 8-bit headers as email.header.Header "
            "(unknown-8bit) and str() of it is U+FFFD; subject and name come out as '������'"
        ),
        "xfail_receive": "same bug: the ticket's subject is stored as U+FFFD characters",
    },
    {
        "file": "latin1_label_cp1252_bytes.eml",
        "about": "labelled iso-8859-1 but written in Windows-1252 (’ – €), as Outlook does",
        "sender": "jean@client.example.fr",
        "sender_name": "Jean François",
        "subject": "Réclamation commande",
        "text": "Le colis est arrivé abîmé – « très déçu ». J’attends un remboursement de 45 €.",
        "outcome": "new",
        "ticket_subject": "Réclamation commande",
    },
    {
        "file": "unknown_charset.eml",
        "about": "charset labels Python does not know: utf8mb4 subject, x-mac-chinesesimp body",
        "sender": "mac.user@example.cn",
        "subject": "打印机无法连接",
        "text": "打印机无法连接到无线网络，型号是 HP 4100。",
        "outcome": "new",
        "ticket_subject": "打印机无法连接",
    },
    {
        "file": "us_ascii_label_utf8_body.eml",
        "about": "PHPMailer: 8-bit UTF-8 body labelled us-ascii",
        "sender": "owner@shop.customer.test",
        "subject": "Wrong price on invoice",
        "text": "Café crème — the invoice says 129 € but I paid 119 €. 你好",
        "outcome": "new",
        "body_contains": ["Café crème — the invoice says 129 €"],
        "xfail_parse": (
            "email_parse.CHARSET_ALIASES maps us-ascii to cp1252, which decodes UTF-8 bytes "
            "without error, so the utf-8 fallback in _decode never runs: 'CafÃ© crÃ¨me â€”'"
        ),
        "xfail_receive": "same bug: the stored message text is mojibake",
    },
    # --- Structure -----------------------------------------------------------------------------
    {
        "file": "html_only_hostile.eml",
        "about": "HTML only, with <script>, <style>, on* handlers, javascript: and remote images",
        "sender": "billing@customer.test",
        "sender_name": "Billing Dept",
        "subject": "Invoice 77 is wrong",
        "text": (
            "Hello, my invoice is wrong.\n\nThe total should be 119.00 EUR, not 129.00 EUR.\n\n"
            "click me or open invoice 77"
        ),
        "html_contains": [
            "<b>invoice</b>",
            'href="https://customer.test/invoice/77"',
            'alt="Customer logo"',
        ],
        "html_excludes": [
            "<script",
            "alert(",
            "document.cookie",
            "<style",
            "color:red",
            "onclick",
            "onload",
            "javascript:",
            "tracker.example.net",
            "cdn.example.net",
            "evil.example.net",
            "<iframe",
        ],
        "text_excludes": ["<", "alert", "color:red", "steal"],
        "outcome": "new",
        "body_contains": ["Hello, my invoice is wrong."],
        "body_html_contains": ["<b>invoice</b>"],
        "body_html_excludes": ["<script", "onclick", "javascript:", "tracker.example.net"],
    },
    {
        "file": "multipart_alternative.eml",
        "about": "Apple Mail multipart/alternative: the text part is the text, told once",
        "sender": "sam@customer.test",
        "subject": "Export button does nothing",
        "text": "Hi team, the export button does nothing in Firefox.\n\nSam",
        "text_once": ["export button does nothing"],
        "html_contains": ["the <i>export button</i> does nothing"],
        "outcome": "new",
        "body_text": "Hi team, the export button does nothing in Firefox.\n\nSam",
    },
    {
        "file": "nested_related_cid.eml",
        "about": "Outlook: mixed > related > alternative, cid: inline image, PDF attachment",
        "sender": REQUESTER,
        "subject": "Error on the checkout page (screenshot attached)",
        "text_once": ["The invoice for the order is attached."],
        "html_contains": ['src="cid:image001.png@01DCA1B2.3C4D5E60"'],
        "attachments": [
            {
                "filename": "image001.png",
                "content_type": "image/png",
                "inline": True,
                "content_id": "image001.png@01DCA1B2.3C4D5E60",
                "size": 69,
            },
            {"filename": "invoice-2026-03.pdf", "content_type": "application/pdf", "inline": False},
        ],
        "outcome": "new",
    },
    {
        "file": "inline_cid_image.eml",
        "about": "Apple Mail multipart/related: HTML whose image is a cid: part",
        "sender": "sam@customer.test",
        "subject": "Logo looks wrong",
        "text": "The logo looks like this:\nSam",
        "html_contains": ['src="cid:2F1A0B9C-55@customer.test"'],
        "attachments": [
            {
                "filename": "logo.png",
                "content_type": "image/png",
                "inline": True,
                "content_id": "2F1A0B9C-55@customer.test",
            }
        ],
        "outcome": "new",
        "body_html_contains": ["<img"],
        "body_html_excludes": ["cid:"],
        "xfail_receive": (
            "tickets/sanitize.py says ingest rewrites cid: images to our attachment URLs, but "
            "nothing does: to_inbound drops ParsedAttachment.content_id (InboundAttachment has "
            'no such field) and the stored body_html keeps src="cid:...", a broken image'
        ),
    },
    {
        "file": "empty_body.eml",
        "about": "headers and an empty text/plain body",
        "sender": "tom@customer.test",
        "subject": "Call me back please",
        "text": "",
        "html": "",
        "outcome": "new",
        "ticket_subject": "Call me back please",
        "body_text": "",
    },
    {
        "file": "long_subject.eml",
        "about": "a folded 600-character subject",
        "sender": "noc@customer.test",
        "subject": LONG_SUBJECT[:500],
        "text": "See subject.",
        "outcome": "new",
        "ticket_subject": LONG_SUBJECT[:250],
    },
    {
        "file": "bare_lf_mbox.eml",
        "about": "bare LF line endings and an mbox 'From ' line (procmail pipe)",
        "sender": "ada@customer.test",
        "sender_name": "Ada Lovelace",
        "subject": "Notes from procmail",
        "text": "These lines end with a bare LF.\nThe café notes are attached.",
        "attachments": [{"filename": "notes.txt", "content_type": "text/plain", "size": 18}],
        "outcome": "new",
    },
    {
        "file": "calendar_invite.eml",
        "about": "Google Calendar invite: text/calendar in the alternative, .ics attached",
        "sender": "jane.doe@customer.test",
        "subject": "Invitation: Quarterly review @ Tue 10 Mar 2026 09:00 - 10:00 (UTC)",
        "text_contains": ["You have been invited to the following event.", "Quarterly review"],
        "text_excludes": ["BEGIN:VCALENDAR"],
        "html_contains": ["<h2>Quarterly review</h2>"],
        "attachments": [
            {"filename": "attachment.ics", "content_type": "text/calendar", "size": 481},
            {"filename": "invite.ics", "content_type": "application/ics", "size": 481},
        ],
        "outcome": "new",
    },
    {
        "file": "broken_base64.eml",
        "about": "base64 body mangled by a gateway (junk characters, truncated)",
        "sender": "bob@customer.test",
        "subject": "Order 556677",
        "text_contains": ["The first part of this message is fine and readable."],
        "notes": None,
        "outcome": "new",
        "body_contains": ["The first part of this message is fine and readable."],
    },
    # --- Attachments ---------------------------------------------------------------------------
    {
        "file": "attachment_rfc2231_chinese.eml",
        "about": "Chinese file names: RFC 2231, RFC 2231 continuations, RFC 2047 in a quoted name",
        "sender": "zhao.min@example.cn",
        "sender_name": "赵敏",
        "subject": "报价单和合同",
        "text": "附件是报价单、合同草案和发票，请查收。",
        "attachments": [
            {"filename": "报价单 2026.pdf", "content_type": "application/pdf"},
            {
                "filename": "合同草案（第二版）.docx",
                "content_type": (
                    "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
                ),
            },
            {
                "filename": "发票.xlsx",
                "content_type": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            },
        ],
        "outcome": "new",
    },
    {
        "file": "attachment_rfc2231_gb2312_gbk.eml",
        "about": "RFC 2231 file name labelled gb2312 holding a GBK-only character (堃)",
        "sender": "hr@corp.example.cn",
        "subject": "Resume attached",
        "attachments": [{"filename": "王堃的简历.pdf", "content_type": "application/pdf"}],
        "outcome": "new",
        "xfail_parse": (
            "email_parse._filename: Message.get_filename() already collapses RFC 2231 with the "
            "label's own codec (gb2312, errors='replace'), so CHARSET_ALIASES never applies: "
            "'王�业募蚶�.pdf'"
        ),
        "xfail_receive": "same bug: the attachment is stored under the garbled name",
    },
    {
        "file": "attachment_oversize.eml",
        "about": "a 1.2 MB zip over a 1 MB limit, and a small screenshot",
        "max_attachment_mb": 1,
        "sender": "ops@customer.test",
        "subject": "Server logs for the outage",
        "text": "Logs and a screenshot of the outage are attached.",
        "attachments": [{"filename": "screenshot.png", "content_type": "image/png"}],
        "notes": 1,
        "notes_contain": ["logs-2026-03-02.zip", "was not attached", "1 MB"],
        "outcome": "new",
        "body_contains": [
            "Logs and a screenshot of the outage are attached.",
            "logs-2026-03-02.zip (1171 KB) was not attached",
        ],
    },
    {
        "file": "attachment_exe.eml",
        "about": "a forbidden setup.exe next to an acceptable log file",
        "sender": "it@customer.test",
        "subject": "Installer fails on Windows 11",
        "attachments": [
            {"filename": "setup.exe", "content_type": "application/x-msdownload"},
            {"filename": "install.log", "content_type": "text/plain"},
        ],
        "text": "The installer stops at 80 percent. I attached the installer and its log.",
        "text_excludes": ["access denied"],
        "outcome": "new",
        "stored_attachments": ["install.log"],
        "body_contains": [
            "The installer stops at 80 percent.",
            "setup.exe: this type of file is not accepted.",
        ],
    },
    {
        "file": "winmail_dat.eml",
        "about": "Outlook RTF mail with winmail.dat (application/ms-tnef)",
        "sender": "old.outlook@customer.test",
        "subject": "Contract renewal",
        "text": "Please renew our contract for another year.",
        "notes": 1,
        "notes_contain": ["winmail.dat"],
        "outcome": "new",
        "stored_attachments": [],
        "body_contains": ["Please renew our contract", "winmail.dat"],
    },
    {
        "file": "forwarded_rfc822.eml",
        "about": "Thunderbird 'forward as attachment': a message/rfc822 part",
        "sender": "manager@customer.test",
        "subject": "Fwd: Your order 5521 has shipped",
        "text_contains": ["Forwarding the shipping mail"],
        "attachments": [
            {"filename": "Your order 5521 has shipped.eml", "content_type": "message/rfc822"}
        ],
        "outcome": "new",
        "ticket_subject": "Your order 5521 has shipped",
        "xfail_parse": (
            "email_parse._walk: compat32 message/rfc822 parts are is_multipart() (payload is a "
            "list), so the message/* branch that attaches them is dead code; the forwarded mail "
            "is flattened into the body and no .eml attachment is kept"
        ),
        "xfail_receive": "same bug: the forwarded message is not stored as an attachment",
    },
    # --- Automatic mail ------------------------------------------------------------------------
    {
        "file": "autoreply_out_of_office.eml",
        "about": "Outlook out-of-office (Auto-Submitted: auto-replied) to our reply",
        "setup": "ticket",
        "sender": REQUESTER,
        "subject": f"Automatic reply: Re: {ORIGINAL_SUBJECT} [#{{{{TICKET}}}}]",
        "in_reply_to": ["{{OUR_MESSAGE_ID}}"],
        "auto": True,
        "auto_reason_contains": "auto-replied",
        "text": "I am out of the office until 9 March with limited access to email.",
        "outcome": "threaded",
        "thread_reason_contains": "replied to message",
        "body_text": "I am out of the office until 9 March with limited access to email.",
    },
    {
        "file": "precedence_bulk.eml",
        "about": "a newsletter with Precedence: bulk",
        "sender": "news@vendor.example.com",
        "subject": "March product update",
        "auto": True,
        "auto_reason_contains": "bulk",
        "text": "New in March: faster exports and dark mode.",
        "html_excludes": ["vendor.example.com/px.gif"],
        "outcome": "new",
    },
    {
        "file": "x_autoreply_163.eml",
        "about": "Coremail/163 Chinese auto-reply marked only by X-Autoreply",
        "sender": "service@shop.example.cn",
        "subject": "自动回复: 订单查询",
        "auto": True,
        "auto_reason_contains": "X-Autoreply",
        "text": "您好，您的邮件已收到，我们会在两个工作日内回复。",
        "outcome": "new",
    },
    {
        "file": "mailing_list.eml",
        "about": "Google Groups mail (List-Id, List-Unsubscribe), From rewritten, Reply-To kept",
        "sender": "partners@customer.test",
        "sender_name": "'Jane Doe' via Partners",
        "subject": "[partners] Maintenance window on Saturday",
        "auto": True,
        "auto_reason_contains": "mailing list",
        "text_contains": ["down for maintenance on Saturday"],
        "outcome": "new",
        "author": "jane.doe@customer.test",
    },
    {
        "file": "mailer_daemon_warning.eml",
        "about": "a sendmail delay warning from MAILER-DAEMON (plain text, not a DSN)",
        "sender": "mailer-daemon@mx.customer.test",
        "subject": "Warning: could not send message for past 4 hours",
        "auto": True,
        "auto_reason_contains": "mailer-daemon",
        "text_contains": ["THIS IS A WARNING MESSAGE ONLY"],
        "outcome": "new",
    },
    # --- Bounces -------------------------------------------------------------------------------
    {
        "file": "bounce_rfc3464.eml",
        "about": "Postfix RFC 3464 bounce of our reply (delivery-status + message/rfc822)",
        "setup": "ticket",
        "sender": "mailer-daemon@mx.customer.test",
        "subject": "Undelivered Mail Returned to Sender",
        "auto": True,
        "bounce": True,
        "bounced_message_ids": ["{{OUR_MESSAGE_ID}}"],
        "bounced_recipients": [REQUESTER],
        "text_contains": ["Recipient address rejected: User unknown"],
        "outcome": "bounce",
        "thread_reason_contains": "bounce",
        "outbound_status": "failed",
        "bounced_addresses": [REQUESTER],
        "body_contains": [f"Delivery failed to {REQUESTER}.", "User unknown"],
    },
    {
        "file": "bounce_never_sent.eml",
        "about": "Exchange NDR (text/rfc822-headers) for a forged mail we never sent",
        "setup": "ticket",
        "sender": "postmaster@customer.test",
        "subject": "Undeliverable: Quarterly report",
        "auto": True,
        "bounce": True,
        "bounced_message_ids": ["<forged-by-a-spammer-0024@spoofed.example.net>"],
        "bounced_recipients": ["old.employee@customer.test"],
        "attachments": [{"filename": "attachment.bin", "content_type": "text/rfc822-headers"}],
        "outcome": "kept",
        "thread_reason_contains": "did not send",
    },
    {
        "file": "bounce_qmail_text.eml",
        "about": "qmail 'failure notice' quoting our original headers in plain text",
        "setup": "ticket",
        "sender": "mailer-daemon@mail.customer.test",
        "subject": "failure notice",
        "auto": True,
        "bounce": True,
        "bounced_message_ids": ["{{OUR_MESSAGE_ID}}"],
        "bounced_recipients": [],
        "text_contains": ["Sorry, no mailbox here by that name."],
        "outcome": "bounce",
        "outbound_status": "failed",
        "bounced_addresses": [REQUESTER],
        "body_contains": [f"Delivery failed to {REQUESTER}.", "no mailbox here"],
    },
    {
        "file": "bounce_qq_chinese.eml",
        "about": "QQ Mail bounce: PostMaster@qq.com, subject 系统退信 (RFC 2047), headers in text",
        "setup": "ticket",
        "requester": QQ_REQUESTER,
        "sender": "postmaster@qq.com",
        "subject": "系统退信",
        "auto": True,
        "bounce": True,
        "bounced_message_ids": ["{{OUR_MESSAGE_ID}}"],
        "text_contains": ["退信原因"],
        "outcome": "bounce",
        "outbound_status": "failed",
        "bounced_addresses": [QQ_REQUESTER],
        "xfail_parse": (
            "email_parse._is_dsn matches the bounce words against the RAW Subject header, so "
            "'退信'/'投递失败' can never match (they arrive RFC 2047-encoded, or as 8-bit that "
            "compat32 turns into U+FFFD); the bounce is not recognised"
        ),
        "xfail_receive": "same bug: the bounce opens a new ticket and our reply stays 'sent'",
    },
    {
        "file": "dsn_delayed.eml",
        "about": "Gmail 'Delivery Status Notification (Delay)': Action: delayed, still retrying",
        "setup": "ticket",
        "sender": "mailer-daemon@googlemail.com",
        "subject": "Delivery Status Notification (Delay)",
        "auto": True,
        "bounce": None,
        "attachments": [{"filename": "attachment.bin", "content_type": "text/rfc822-headers"}],
        "outcome": None,
        "tickets_created": 0,
        "outbound_status": "sent",
        "bounced_addresses": [],
        "xfail_receive": (
            "email.py _bounce / email_parse._read_dsn ignore the DSN Action field: an "
            "'Action: delayed' report marks our reply delivery_status='failed' and flags the "
            "recipient in BouncedAddress although the mail is still being retried"
        ),
    },
    # --- Threading -----------------------------------------------------------------------------
    {
        "file": "reply_gmail_in_reply_to.eml",
        "about": "Gmail reply by In-Reply-To to our Message-ID, 'On ... wrote:' quote",
        "setup": "ticket",
        "sender": REQUESTER,
        "subject": f"Re: {ORIGINAL_SUBJECT} [#{{{{TICKET}}}}]",
        "in_reply_to": ["{{OUR_MESSAGE_ID}}"],
        "references": ["{{OUR_MESSAGE_ID}}"],
        "text_contains": ["Thanks, the replacement arrived today.", "> We are looking into it."],
        "outcome": "threaded",
        "thread_reason_contains": "replied to message",
        "body_text": "Thanks, the replacement arrived today.",
    },
    {
        "file": "reply_references_only.eml",
        "about": "Outlook on the web reply with References only (no In-Reply-To), ____ quote",
        "setup": "ticket",
        "sender": REQUESTER,
        "subject": f"RE: {ORIGINAL_SUBJECT}",
        "in_reply_to": [],
        "references": ["<earlier-thread-0001@customer.test>", "{{OUR_MESSAGE_ID}}"],
        "outcome": "threaded",
        "thread_reason_contains": "replied to message",
        "body_text": "Yes, please cancel the order and refund me.",
    },
    {
        "file": "reply_outlook_original_message.eml",
        "about": "Outlook desktop reply with '-----Original Message-----'",
        "setup": "ticket",
        "sender": REQUESTER,
        "subject": f"RE: {ORIGINAL_SUBJECT} [#{{{{TICKET}}}}]",
        "text_contains": ["-----Original Message-----", "We are looking into it."],
        "outcome": "threaded",
        "body_text": ("Hi,\n\nThe issue is still there after the update.\n\nBest regards,\nLi Lei"),
    },
    {
        "file": "reply_chinese_quote.eml",
        "about": "reply with a Chinese '在 ... 写道：' attribution, base64 UTF-8",
        "setup": "ticket",
        "sender": REQUESTER,
        "sender_name": "李雷",
        "subject": f"回复： {ORIGINAL_SUBJECT} [#{{{{TICKET}}}}]",
        "text_contains": ["写道："],
        "outcome": "threaded",
        "body_text": "好的，我明天再试一下。谢谢！",
    },
    {
        "file": "reply_gmail_wrapped_attribution.eml",
        "about": "Gmail reply whose 'On ... wrote:' line is wrapped over two lines",
        "setup": "ticket",
        "sender": REQUESTER,
        "subject": f"Re: {ORIGINAL_SUBJECT} [#{{{{TICKET}}}}]",
        "text_contains": ["Sure, Tuesday morning works for me."],
        "outcome": "threaded",
        "body_text": "Sure, Tuesday morning works for me.",
        "xfail_receive": (
            "email_parse.QUOTE_HEADERS: the 'On .{5,200}wrote:' pattern is single-line, so "
            "Gmail's wrapped attribution ('On Mon, ... <support@...>' / 'wrote:') is not cut and "
            "stays in body_text"
        ),
    },
    {
        "file": "reply_signed_address.eml",
        "about": "reply to the signed reply address, no threading headers, no [#N]",
        "setup": "ticket",
        "sender": REQUESTER,
        "subject": f"Re: {ORIGINAL_SUBJECT}",
        "in_reply_to": [],
        "references": [],
        "outcome": "threaded",
        "thread_reason_contains": "reply address",
        "body_text": "Sent from the train: the parcel is at the neighbour's, all good.",
    },
    {
        "file": "reply_forged_address.eml",
        "about": "a stranger writes to support+t<N>.<wrong token>@: must not thread",
        "setup": "ticket",
        "sender": "mallory@elsewhere.test",
        "subject": f"Re: {ORIGINAL_SUBJECT}",
        "outcome": "new",
        "ticket_subject": ORIGINAL_SUBJECT,
    },
    {
        "file": "subject_number_requester.eml",
        "about": "[#N] in the subject, from the ticket's requester, no threading headers",
        "setup": "ticket",
        "sender": REQUESTER,
        "subject": f"{ORIGINAL_SUBJECT} [#{{{{TICKET}}}}] - new address",
        "outcome": "threaded",
        "thread_reason_contains": "in the subject, from a participant",
        "body_text": "My new delivery address is 5 Harbour Road.",
    },
    {
        "file": "subject_number_stranger.eml",
        "about": "[#N] in the subject from a stranger: a NEW ticket",
        "setup": "ticket",
        "sender": "mallory@elsewhere.test",
        "subject": f"Re: {ORIGINAL_SUBJECT} [#{{{{TICKET}}}}]",
        "outcome": "new",
        "ticket_subject": ORIGINAL_SUBJECT,
        "body_text": "Change the delivery address to 13 Fake Street please.",
    },
    {
        "file": "qqmail_reply.eml",
        "about": "QQMail reply: no In-Reply-To/References, [#N] in a GB18030 subject",
        "setup": "ticket",
        "requester": QQ_REQUESTER,
        "sender": QQ_REQUESTER,
        "sender_name": "李雷",
        "subject": "回复：订单没有收到 [#{{TICKET}}]",
        "in_reply_to": [],
        "references": [],
        "text": "好的，收到了，谢谢。",
        "html_contains": ["<div>好的，收到了，谢谢。</div>"],
        "outcome": "threaded",
        "thread_reason_contains": "in the subject, from a participant",
        "body_text": "好的，收到了，谢谢。",
    },
    {
        "file": "qqmail_reply_quoted.eml",
        "about": "QQMail reply with its '------------------ 原始邮件 ------------------' quote",
        "setup": "ticket",
        "requester": QQ_REQUESTER,
        "sender": QQ_REQUESTER,
        "subject": "回复：订单没有收到 [#{{TICKET}}]",
        "text_contains": ["快递员说明天送到。", "原始邮件"],
        "outcome": "threaded",
        "body_text": "快递员说明天送到。",
        "xfail_receive": (
            "email.to_inbound strips quotes only when In-Reply-To/References are present; "
            "QQMail sends neither, so a reply threaded by [#N] (or the reply address) keeps the "
            "whole '原始邮件' quote in body_text"
        ),
    },
    {
        "file": "reply_closed_followup.eml",
        "about": "reply to a CLOSED ticket, default settings: a linked follow-up ticket",
        "setup": "closed_ticket",
        "sender": REQUESTER,
        "subject": f"Re: {ORIGINAL_SUBJECT} [#{{{{TICKET}}}}]",
        "outcome": "followup",
        "thread_reason_contains": "follow-up to closed #{{TICKET}}",
        "ticket_subject": ORIGINAL_SUBJECT,
        "body_text": "Hi, the problem is back since yesterday.",
    },
    {
        "file": "reply_closed_reopen.eml",
        "about": "reply to a CLOSED ticket with closed_reply='reopen': the same ticket reopens",
        "setup": "closed_ticket",
        "closed_reply": "reopen",
        "sender": REQUESTER,
        "subject": f"Re: {ORIGINAL_SUBJECT} [#{{{{TICKET}}}}]",
        "outcome": "reopened",
        "body_text": "Sorry, it broke again this morning.",
    },
    # --- Identity and duplicates ---------------------------------------------------------------
    {
        "file": "missing_message_id.eml",
        "about": "a PHP contact form: no Message-ID, no MIME headers, Reply-To the customer",
        "sender": "www-data@web01.customer.test",
        "subject": "Contact form: question about pricing",
        "message_id": "",
        "text_contains": ["Do you offer a discount for non-profits?"],
        "outcome": "new",
        "author": "olga@customer.test",
    },
    {
        "file": "shared_message_id_1.eml",
        "about": "a monitoring system that reuses one Message-ID (first alert)",
        "sender": "monitor@monitor.customer.test",
        "subject": "ALERT disk /var 91% on db01",
        "message_id": "<alert@monitor.customer.test>",
        "text": "Disk /var on db01 is 91% full.",
        "outcome": "new",
    },
    {
        "file": "shared_message_id_2.eml",
        "about": "a DIFFERENT message with the same Message-ID: a second message, not a duplicate",
        "deliver_first": "shared_message_id_1.eml",
        "sender": "monitor@monitor.customer.test",
        "subject": "ALERT backup failed on db02",
        "message_id": "<alert@monitor.customer.test>",
        "text": "Nightly backup on db02 failed: exit code 2.",
        "outcome": "new",
        "distinct_from_first": True,
        "body_text": "Nightly backup on db02 failed: exit code 2.",
    },
    {
        "file": "duplicate_delivery_1.eml",
        "about": "first delivery (8bit) of a message that arrives twice",
        "sender": "chloe@client.example.fr",
        "sender_name": "Chloé Martin",
        "subject": "Facture introuvable",
        "text": DUPLICATE_TEXT,
        "outcome": "new",
    },
    {
        "file": "duplicate_delivery_2.eml",
        "about": "the SAME message again via a backup MX: other Received:, re-encoded as QP",
        "deliver_first": "duplicate_delivery_1.eml",
        "sender": "chloe@client.example.fr",
        "subject": "Facture introuvable",
        "text": DUPLICATE_TEXT,
        "outcome": "duplicate",
        "thread_reason_contains": "duplicate",
    },
    {
        "file": "encoded_name_with_comma.eml",
        "about": "Outlook 'Last, First' display name, RFC 2047-encoded (=2C), no Return-Path",
        "sender": "hans.mueller@customer.test",
        "sender_name": "Müller, Hans",
        "subject": "VPN access for new colleague",
        "outcome": "new",
        "xfail_parse": (
            "email_parse._address decodes RFC 2047 BEFORE parseaddr: 'Müller, Hans <hans...>' "
            "is then read as two addresses, parseaddr returns ('', 'Müller'), and with no "
            "Return-Path/Sender parse_email raises 'no sender address'"
        ),
        "xfail_receive": "same bug: the message is stored as failed instead of opening a ticket",
    },
    {
        "file": "encoded_name_with_comma_verp.eml",
        "about": "encoded 'Wang, Fang (王芳)' name and a VERP Return-Path",
        "sender": "fang.wang@customer.test",
        "sender_name": "Wang, Fang (王芳)",
        "subject": "Invoice address change",
        "outcome": "new",
        "xfail_parse": (
            "email_parse._address (decode before parseaddr) loses the From address; the "
            "Return-Path fallback then makes the VERP bounce address the sender"
        ),
        "xfail_receive": (
            "same bug: the ticket's requester is bounce-7f3a9c+fang.wang=customer.test@"
            "mailer.customer.test instead of fang.wang@customer.test"
        ),
    },
    # --- Not mail, or no sender ----------------------------------------------------------------
    {
        "file": "no_sender.eml",
        "about": "a scanner's mail without From, Sender or Return-Path",
        "parse_error": "no sender address",
        "outcome": "failed",
        "error_contains": "no sender address",
    },
    {
        "file": "garbage_bytes.eml",
        "about": "binary junk (a PNG and random bytes) handed to the ingest command",
        "parse_error": "no headers",
        "outcome": "failed",
        "error_contains": "no headers",
    },
]
