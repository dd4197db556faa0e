"""Writes tests/data/mail/auto/*.eml: auto-replies, bounces and list mail in the shapes real
systems send. {tracking} and {reply_to} are filled in by the test with a real request's number
and the Message-ID of a message the city sent about it.
Run: python tests/data/mail/make_auto_corpus.py"""

from pathlib import Path

HERE = Path(__file__).parent / "auto"

OUTLOOK_OOF = """From: {name} <{user}@contoso.example>
To: 311@city.example
Subject: Automatic reply: Your request {tracking} was updated
Date: Mon, 1 Dec 2026 10:0{i}:00 +0000
Message-ID: <oof-{i}-{kind}@contoso.example>
In-Reply-To: {reply_to}
References: {reply_to}
Auto-Submitted: auto-replied
X-Auto-Response-Suppress: All
X-MS-Exchange-Inbox-Rules-Loop: {user}@contoso.example
Content-Type: text/plain; charset="us-ascii"

I am out of the office until Monday with limited access to e-mail.
For urgent matters contact my colleague.
"""

EXCHANGE_NO_AUTOSUB = """From: {name} <{user}@fabrikam.example>
To: 311@city.example
Subject: Out of Office: {tracking}
Message-ID: <ex-{i}-{kind}@fabrikam.example>
In-Reply-To: {reply_to}
X-Auto-Response-Suppress: DR, OOF, AutoReply
X-MS-Exchange-Generated-Message-Source: Mailbox Rules Agent
Content-Type: text/plain; charset=utf-8

Gracias por su mensaje. Estoy fuera de la oficina.
"""

GMAIL_VACATION = """From: {name} <{user}@gmail.example>
To: 311@city.example
Subject: Re: Your request {tracking} was closed
Message-ID: <CAgmail{i}{kind}@mail.gmail.example>
In-Reply-To: {reply_to}
References: {reply_to}
Auto-Submitted: auto-replied
Content-Type: multipart/alternative; boundary="000b{i}"

--000b{i}
Content-Type: text/plain; charset="UTF-8"

Hi! I'm on vacation until the 15th and will reply when I'm back.

--000b{i}
Content-Type: text/html; charset="UTF-8"

<div dir="ltr">Hi! I'm on vacation until the 15th and will reply when I'm back.</div>

--000b{i}--
"""

POSTFIX_DSN = """Return-Path: <>
From: MAILER-DAEMON@mx{i}.city.example (Mail Delivery System)
To: 311@city.example
Subject: Undelivered Mail Returned to Sender {tracking}
Message-ID: <dsn-{i}-{kind}@mx.city.example>
Auto-Submitted: auto-replied
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status; boundary="B{i}"

--B{i}
Content-Description: Notification
Content-Type: text/plain; charset=us-ascii

This is the mail system at host mx.city.example.
I'm sorry to have to inform you that your message could not be delivered.

--B{i}
Content-Description: Delivery report
Content-Type: message/delivery-status

Reporting-MTA: dns; mx.city.example
Final-Recipient: rfc822; {user}@gone.example
Action: failed
Status: 5.1.1
Diagnostic-Code: smtp; 550 5.1.1 user unknown

--B{i}
Content-Type: text/rfc822-headers

Message-ID: {reply_to}
Subject: Your request {tracking} was updated

--B{i}--
"""

EXIM_BOUNCE = """From: Mail Delivery System <Mailer-Daemon@exim{i}.example>
To: 311@city.example
Subject: Mail delivery failed: returning message to sender
Message-ID: <E1exim{i}{kind}@exim.example>
X-Failed-Recipients: {user}@gone.example
Auto-Submitted: auto-replied
Content-Type: text/plain; charset=us-ascii

This message was created automatically by mail delivery software.

A message that you sent could not be delivered to one or more of its recipients.
  {user}@gone.example
    Unrouteable address

------ This is a copy of the message, including all the headers. ------
Subject: Your request {tracking} was updated
"""

EXCHANGE_NDR = """From: postmaster@outlook.example
To: 311@city.example
Subject: Undeliverable: Your request {tracking} was updated
Message-ID: <ndr-{i}-{kind}@outlook.example>
In-Reply-To: {reply_to}
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status; boundary="N{i}"

--N{i}
Content-Type: text/plain; charset=utf-8

Delivery has failed to these recipients or groups: {user}@outlook.example

--N{i}
Content-Type: message/delivery-status

Reporting-MTA: dns;BN8PR.outlook.example
Final-Recipient: rfc822;{user}@outlook.example
Action: failed
Status: 5.1.10

--N{i}--
"""

LIST_MAIL = """From: Neighbourhood list <{user}@lists.example>
To: 311@city.example
Subject: [block-assoc] pothole on our street again {tracking}
Message-ID: <list-{i}-{kind}@lists.example>
List-Id: Block association <block.lists.example>
List-Unsubscribe: <mailto:leave@lists.example>
Precedence: list
Content-Type: text/plain

Someone reported the pothole at 1382 Dumont Ave to 311 again.
"""

UNIX_VACATION = """From: {user}@unix.example
To: 311@city.example
Subject: away from my mail
Message-ID: <vac-{i}-{kind}@unix.example>
In-Reply-To: {reply_to}
Precedence: junk
X-Autoreply: yes
Content-Type: text/plain

I will not be reading my mail for a while.
Your mail regarding "{tracking}" will be read when I return.
"""

BULK_NEWSLETTER = """From: Deals <{user}@news.example>
To: 311@city.example
Subject: This week's offers {tracking}
Message-ID: <bulk-{i}-{kind}@news.example>
Precedence: bulk
Content-Type: text/plain

Big savings on lawn care this week. There is a pothole sale at 1382 Dumont Ave.
"""

READ_RECEIPT = """From: {name} <{user}@corp.example>
To: 311@city.example
Subject: Read: Your request {tracking} was updated
Message-ID: <mdn-{i}-{kind}@corp.example>
In-Reply-To: {reply_to}
Content-Type: multipart/report; report-type=disposition-notification; boundary="M{i}"

--M{i}
Content-Type: text/plain

Your message was read on Monday.

--M{i}
Content-Type: message/disposition-notification

Final-Recipient: rfc822;{user}@corp.example
Disposition: automatic-action/MDN-sent-automatically; displayed

--M{i}--
"""

YAHOO_AUTORESPOND = """From: {name} <{user}@yahoo.example>
To: 311@city.example
Subject: Auto Reply: Re: {tracking}
Message-ID: <yahoo-{i}-{kind}@yahoo.example>
X-Autorespond: {user}@yahoo.example
Content-Type: text/plain

Thank you for your e-mail. This is an automatic reply.
"""

SHAPES = {
    "outlook-oof": OUTLOOK_OOF,
    "exchange-oof": EXCHANGE_NO_AUTOSUB,
    "gmail-vacation": GMAIL_VACATION,
    "postfix-dsn": POSTFIX_DSN,
    "exim-bounce": EXIM_BOUNCE,
    "exchange-ndr": EXCHANGE_NDR,
    "list": LIST_MAIL,
    "unix-vacation": UNIX_VACATION,
    "bulk": BULK_NEWSLETTER,
    "read-receipt": READ_RECEIPT,
    "yahoo-autorespond": YAHOO_AUTORESPOND,
}

if __name__ == "__main__":
    HERE.mkdir(exist_ok=True)
    names = ["Ana Ruiz", "Ben Cole", "Chen Li", "Dee Park", "Eli Stone"]
    for kind, shape in SHAPES.items():
        for i in range(5):
            text = shape.replace("{i}", str(i)).replace("{kind}", kind)
            text = text.replace("{name}", names[i]).replace("{user}", f"user{i}")
            (HERE / f"{kind}-{i}.eml").write_text(text)
