"""E-mail to 311 (issue 21): mail arrives by real SMTP on loopback (aiosmtpd, sent by smtplib)
and is handled by city311.intake.mail."""

import io
import os
import pwd
import shutil
import smtplib
import socket
import subprocess
import tempfile
import time
from email.message import EmailMessage
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from django.core.management import call_command
from PIL import Image

from city311.contacts.models import Interaction
from city311.intake.mail import receive
from city311.intake.mailin import Handler
from city311.intake.models import InboundMail, MailStatus
from city311.notifications.models import Delivery, Follower
from city311.servicerequests.intake import submit_request
from city311.servicerequests.models import RequestEvent, ServiceRequest, Status
from city311.servicerequests.validation import Submission
from city311.test import BaseTestCase
from tests import small_city

AUTO = Path(__file__).parent / "data" / "mail" / "auto"
DOMAIN = "city311.localhost"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def smtp_server():
    """A real SMTP listener (the production handler) collecting what it is sent."""
    received: list[bytes] = []
    controller = Controller(
        Handler(deliver=received.append), hostname="127.0.0.1", port=_free_port()
    )
    controller.start()
    yield controller, received
    controller.stop()


DOVECOT_CONF = """
base_dir = {root}/run
state_dir = {root}/state
log_path = {root}/dovecot.log
protocols = imap
listen = 127.0.0.1
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
mail_location = maildir:{root}/mail/%u
first_valid_uid = 1
passdb {{
  driver = static
  args = password=secret
}}
userdb {{
  driver = static
  args = uid={uid} gid={gid} home={root}/home/%u
}}
service imap-login {{
  inet_listener imap {{
    address = 127.0.0.1
    port = {port}
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
service pop3-login {{
  inet_listener pop3 {{
    port = 0
  }}
}}
"""


@pytest.fixture(scope="module")
def imap_server():
    """Debian's dovecot on loopback, with one mailbox (user 311, password "secret") whose
    Maildir the test writes messages into. Installed by .ci/run (dovecot-imapd)."""
    root = tempfile.mkdtemp(prefix="dv")  # short: dovecot's sockets live under it
    account = pwd.getpwnam("dovecot") if os.geteuid() == 0 else pwd.getpwuid(os.getuid())
    port = _free_port()
    conf = DOVECOT_CONF.format(root=root, uid=account.pw_uid, gid=account.pw_gid, port=port)
    with open(f"{root}/dovecot.conf", "w") as f:
        f.write(conf)
    for sub in ("new", "cur", "tmp"):
        os.makedirs(f"{root}/mail/311/{sub}")
    os.makedirs(f"{root}/home")
    os.chmod(root, 0o755)
    server = subprocess.Popen(["dovecot", "-F", "-c", f"{root}/dovecot.conf"])
    for _ in range(100):
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                break
        time.sleep(0.05)

    def deliver(name: str, raw: bytes) -> None:
        path = f"{root}/mail/311/new/{name}"
        with open(path, "wb") as f:
            f.write(raw)
        if os.geteuid() == 0:
            # Dovecot reads and moves the files as its own user.
            for p in [path, f"{root}/mail", f"{root}/mail/311", f"{root}/home"] + [
                f"{root}/mail/311/{sub}" for sub in ("new", "cur", "tmp")
            ]:
                os.chown(p, account.pw_uid, account.pw_gid)

    yield port, deliver
    server.terminate()
    server.wait(timeout=10)
    shutil.rmtree(root, ignore_errors=True)


def send_all(smtp_server, messages: list[bytes]) -> list[bytes]:
    controller, received = smtp_server
    received.clear()
    with smtplib.SMTP(controller.hostname, controller.port) as smtp:
        for raw in messages:
            smtp.sendmail("someone@example.org", ["311@city.example"], raw)
    assert len(received) == len(messages)
    return list(received)


def mail(
    subject="Pothole",
    text="There is a deep pothole.",
    *,
    sender="rosa@example.org",
    message_id="",
    in_reply_to="",
    references="",
    headers=None,
    files=(),
) -> bytes:
    m = EmailMessage()
    m["From"] = f"Rosa <{sender}>"
    m["To"] = "311@city.example"
    m["Subject"] = subject
    if message_id:
        m["Message-ID"] = message_id
    if in_reply_to:
        m["In-Reply-To"] = in_reply_to
    if references:
        m["References"] = references
    for k, v in (headers or {}).items():
        m[k] = v
    m.set_content(text)
    for name, ctype, data in files:
        main, sub = ctype.split("/")
        m.add_attachment(data, maintype=main, subtype=sub, filename=name)
    return bytes(m)


def jpeg_with_exif() -> bytes:
    image = Image.new("RGB", (40, 30), "red")
    exif = Image.Exif()
    exif[0x010F] = "SecretCam"  # Make
    out = io.BytesIO()
    image.save(out, "JPEG", exif=exif.tobytes())
    return out.getvalue()


# Replies: how mail programs quote (Gmail, Outlook, Apple Mail, Spanish, forwards, CC).
QUOTES = [
    "{new}\n\nOn Mon, Dec 1, 2026 at 10:00 AM City 311 <311@city.example> wrote:\n> QUOTED-ORIGINAL"
    "\n> Your request was updated.\n",
    "{new}\n\n________________________________\nFrom: City 311 <311@city.example>\nSent: Monday, "
    "December 1, 2026 10:00 AM\nTo: Rosa\nSubject: Your request\n\nQUOTED-ORIGINAL was updated.\n",
    "{new}\n\n-----Original Message-----\nFrom: City 311 <311@city.example>\nSent: Monday\n"
    "Subject: Your request\n\nQUOTED-ORIGINAL\n",
    "{new}\n\nOn Dec 1, 2026, at 10:00, City 311 <311@city.example> wrote:\n\n> QUOTED-ORIGINAL\n",
    "{new}\n\nEl lun, 1 dic 2026 a las 10:00, City 311 (<311@city.example>) escribió:\n"
    "> QUOTED-ORIGINAL\n",
    "{new}\n\n---------- Forwarded message ---------\nFrom: City 311 <311@city.example>\n"
    "Date: Mon, Dec 1, 2026\nSubject: Your request\n\nQUOTED-ORIGINAL\n",
    "{new}\n> QUOTED-ORIGINAL\n> more quoted\n",
    "{new}\n\nSent from my iPhone\n\nOn Dec 1, 2026, at 10:00 AM, 311@city.example wrote:\n\n"
    "> QUOTED-ORIGINAL\n",
]
NEW_WORDS = [
    "The hole is still there and getting bigger.",
    "Thanks, a crew came by this morning.",
    "My neighbour says it was fixed but it is not.",
    "Sigue igual, nadie ha venido.",
    "Please call me back about this.",
]


class EmailIntakeTests(BaseTestCase):
    @pytest.fixture(autouse=True)
    def _fixtures(self, tmp_path, smtp_server, imap_server):
        small_city.load(tmp_path)
        self.smtp = smtp_server
        self.imap = imap_server

    def file(self, code="pothole", **extra) -> ServiceRequest:
        sub = Submission(
            service_code=code,
            address_string="1382 Dumont Ave",
            answers={"size": "large"} if code == "pothole" else {},
            email="rosa@example.org",
            **extra,
        )
        return submit_request(sub)

    def sent_about(self, sr: ServiceRequest) -> str:
        """The Message-ID of a message the city sent a follower about `sr`."""
        follower, _ = Follower.objects.get_or_create(request=sr, email="rosa@example.org")
        delivery, _ = Delivery.objects.get_or_create(
            follower=follower, request=sr, kind="request.updated", channel="email"
        )
        return f"<delivery-{delivery.pk}@{DOMAIN}>"

    def test_auto_replies_and_bounces_never_create_or_reopen_anything(self):
        open_sr = self.file()
        closed = self.file()
        closed.status = Status.CLOSED
        closed.save(update_fields=["status"])
        events_before = RequestEvent.objects.count()
        files = sorted(AUTO.glob("*.eml"))
        assert len(files) >= 50
        raws = []
        for n, path in enumerate(files):
            target = closed if n % 2 else open_sr
            text = path.read_text().replace("{tracking}", target.tracking_number)
            raws.append(text.replace("{reply_to}", self.sent_about(target)).encode())
        for raw in send_all(self.smtp, raws):
            receive(raw)
        statuses = list(InboundMail.objects.values_list("status", flat=True))
        assert statuses == [MailStatus.AUTOMATIC] * len(files)
        assert ServiceRequest.objects.count() == 2
        closed.refresh_from_db()
        assert closed.status == Status.CLOSED
        assert RequestEvent.objects.count() == events_before
        assert not Interaction.objects.exists()

    def test_two_hundred_replies_thread_to_their_request_with_quoted_text_removed(self):
        requests = [self.file() for _ in range(4)]
        first_mail = {}
        for sr in requests:
            first_mail[sr.pk] = f"<first-{sr.pk}@example.org>"
            InboundMail.objects.create(
                message_id=first_mail[sr.pk], status=MailStatus.FILED, request=sr
            )
        raws, expected, new_texts = [], [], []
        for n in range(200):
            sr = requests[n % 4]
            new = NEW_WORDS[n % len(NEW_WORDS)]
            body = QUOTES[n % len(QUOTES)].format(new=new)
            way = n % 3
            kwargs = {"message_id": f"<reply-{n}@example.org>"}
            subject = "Re: Your request"
            if way == 0:
                kwargs["in_reply_to"] = self.sent_about(sr)
            elif way == 1:
                # Someone in CC answering the thread: References only, another sender.
                kwargs["references"] = f"<other@x.example> {first_mail[sr.pk]}"
                kwargs["sender"] = f"neighbour{n}@example.net"
            else:
                # A forward, or a new message quoting the number: the subject only.
                subject = f"Fwd: Your request {sr.tracking_number}"
            raws.append(mail(subject, body, **kwargs))
            expected.append(sr.pk)
            new_texts.append(new)
        for raw in send_all(self.smtp, raws):
            receive(raw)
        replies = {
            m.message_id: m for m in InboundMail.objects.filter(message_id__startswith="<reply-")
        }
        threaded = stripped = 0
        for n in range(200):
            got = replies[f"<reply-{n}@example.org>"]
            threaded += got.status == MailStatus.THREADED and got.request_id == expected[n]
            stripped += got.text.strip() == new_texts[n] and "QUOTED" not in got.text
        print(f"\nreplies threaded {threaded}/200, quoted text removed {stripped}/200")
        assert threaded == 200
        assert stripped >= 190
        assert ServiceRequest.objects.count() == 4
        # Internal history by default: the notes are not public.
        notes = RequestEvent.objects.filter(actor_label="E-mail")
        assert notes.count() == 200 and not notes.filter(public=True).exists()

    def test_a_new_message_waits_in_the_queue_with_its_type_and_place(self):
        raw = mail("Pothole", "There is a big pothole in front of 1382 Dumont Ave, please fix.")
        got = receive(send_all(self.smtp, [raw])[0])
        assert got.status == MailStatus.WAITING
        assert got.service_type.service_code == "pothole"
        assert "1382" in got.address_string
        assert got.interaction.channel == "email" and got.interaction.is_open
        assert not ServiceRequest.objects.exists()
        self.sign_in(self.omar)
        page = self.client.get("/intake/mail/")
        self.assertContains(page, f"/intake/mail/{got.pk}/take/")
        form = self.client.post(f"/intake/mail/{got.pk}/take/", follow=True)
        self.assertContains(form, "There is a big pothole")
        self.assertContains(form, 'name="channel" value="email"')
        values = {
            "channel": "email",
            "description": "There is a big pothole",
            "address_string": "1382 Dumont Ave",
            "email": "rosa@example.org",
            "attribute[size]": "large",
        }
        filed = self.client.post("/console/new/pothole/", values)
        assert filed.status_code == 302, filed.content[:2000]
        sr = ServiceRequest.objects.get()
        assert sr.channel == "email"
        page = self.client.get("/intake/mail/")
        self.assertContains(page, "No e-mail is waiting.")
        got.refresh_from_db()
        assert (got.status, got.request) == (MailStatus.FILED, sr)
        got.interaction.refresh_from_db()
        assert (got.interaction.kind, got.interaction.staff) == ("new_request", self.omar)
        assert got.interaction.handle_seconds is not None

    def test_certain_type_and_place_is_filed_directly_with_its_photo_cleaned(self):
        raw = mail(
            "Fallen tree",
            "A fallen tree is down in front of 1382 Dumont Ave.",
            files=[
                ("hole.jpg", "image/jpeg", jpeg_with_exif()),
                ("note.pdf", "application/pdf", b"%PDF-1.4 x"),
            ],
        )
        got = receive(raw)
        assert got.status == MailStatus.FILED, (got.service_type, got.address_string)
        sr = got.request
        assert sr.channel == "email"
        photo = sr.attachments.get()
        assert b"SecretCam" not in photo.file.read()
        assert got.files.count() == 2
        got.interaction.refresh_from_db()
        assert got.interaction.kind == "new_request" and got.interaction.request == sr

    def test_spam_is_quarantined_until_a_call_taker_releases_it(self):
        raw = mail(
            "You are a winner",
            "Click here http://a.example http://b.example http://c.example casino lottery prize",
            headers={"Authentication-Results": "mx.city.example; spf=fail; dkim=fail"},
        )
        got = receive(raw)
        assert got.status == MailStatus.QUARANTINED
        self.sign_in(self.omar)
        self.assertContains(self.client.get("/intake/mail/"), "You are a winner")
        r = self.client.post(f"/intake/mail/{got.pk}/release/")
        assert r.status_code == 302
        got.refresh_from_db()
        assert got.status == MailStatus.WAITING

    def test_staff_publish_a_reply_and_a_message_is_handled_once(self):
        sr = self.file()
        raw = mail(
            f"Re: {sr.tracking_number}", "Still there.\n> old", message_id="<once@example.org>"
        )
        first, again = receive(raw), receive(raw)
        assert first.pk == again.pk and InboundMail.objects.count() == 1
        self.sign_in(self.omar)
        self.client.post(f"/intake/mail/{first.pk}/publish/")
        assert RequestEvent.objects.filter(request=sr, public=True, note="Still there.").exists()

    def test_fetch_mail_reads_the_imap_mailbox_once(self):
        port, deliver = self.imap
        sr = self.file()
        deliver("1.eml", (AUTO / "outlook-oof-0.eml").read_bytes())
        deliver("2.eml", mail(f"Re: {sr.tracking_number}", "Still there.", message_id="<i2@x.org>"))
        deliver("3.eml", mail("Graffiti", "Someone painted the wall.", message_id="<i3@x.org>"))
        with self.settings(
            CITY311_MAIL_IMAP_HOST="127.0.0.1",
            CITY311_MAIL_IMAP_PORT=port,
            CITY311_MAIL_IMAP_SSL=False,
            CITY311_MAIL_IMAP_USER="311",
            CITY311_MAIL_IMAP_PASSWORD="secret",
        ):
            out = io.StringIO()
            call_command("fetch_mail", stdout=out)
            assert "3 messages read" in out.getvalue()
            out = io.StringIO()
            call_command("fetch_mail", stdout=out)
            assert "0 messages read" in out.getvalue()
        statuses = sorted(InboundMail.objects.values_list("status", flat=True))
        assert statuses == sorted([MailStatus.AUTOMATIC, MailStatus.THREADED, MailStatus.WAITING])
        assert ServiceRequest.objects.count() == 1

    def test_a_reply_in_cc_to_a_waiting_message_joins_it_instead_of_queueing_twice(self):
        first = receive(mail("Graffiti", "Paint on the wall.", message_id="<w1@x.org>"))
        reply = mail(
            "Re: Graffiti",
            "It is on the north side.\n\nOn Mon, Rosa wrote:\n> Paint on the wall.",
            sender="neighbour@example.net",
            message_id="<w2@x.org>",
            in_reply_to="<w1@x.org>",
            references="<w1@x.org>",
        )
        joined = receive(reply)
        assert joined.status == MailStatus.THREADED and joined.request is None
        first.refresh_from_db()
        assert "north side" in first.text and "> Paint" not in first.text
        assert InboundMail.objects.filter(status=MailStatus.WAITING).count() == 1
        assert Interaction.objects.count() == 1

    def test_broken_mail_is_taken_without_an_error(self):
        for raw in [
            b"",
            b"\x00\xff\xfe garbage",
            b"Subject: =?utf-8?b?!!!?=\nFrom: <<<\nContent-Type: multipart/mixed\n\nno parts",
            b"From: a@b.example\nContent-Type: text/plain; charset=x-unknown\n\n\xe9t\xe9",
        ]:
            got = receive(raw)
            assert got.pk is not None
        assert not ServiceRequest.objects.exists()

    def test_the_mail_page_is_for_call_takers(self):
        self.sign_in(self.dana)
        assert self.client.get("/intake/mail/").status_code == 403


@pytest.mark.django_db(transaction=True)
def test_the_smtp_listener_keeps_what_it_accepts_in_the_database(tmp_path, settings):
    """`city311 mail_listener`'s own handler, end to end: accepted mail is in the database when
    the listener says 250; mail for another address is refused and keeps nothing."""
    small_city.load(tmp_path)
    settings.CITY311_MAIL_ADDRESSES = ["311@city.example"]
    controller = Controller(Handler(), hostname="127.0.0.1", port=_free_port())
    controller.start()
    try:
        with smtplib.SMTP(controller.hostname, controller.port) as smtp:
            raw = mail("Pothole", "A deep pothole outside 1382 Dumont Ave.", message_id="<l1@x>")
            smtp.sendmail("rosa@example.org", ["311@city.example"], raw)
            with pytest.raises(smtplib.SMTPRecipientsRefused):
                smtp.sendmail("rosa@example.org", ["mayor@city.example"], mail(message_id="<l2@x>"))
    finally:
        controller.stop()
    kept = InboundMail.objects.get()
    assert kept.message_id == "<l1@x>"
    assert kept.status != MailStatus.AUTOMATIC
