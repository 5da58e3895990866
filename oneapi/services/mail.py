"""Sending email through the SMTP server of the options, as One API does (common/message/email.go).

Port 465 is implicit TLS; any other port starts plain and upgrades with STARTTLS when the server offers
it. PLAIN authentication is used only when an account or token is set. The sender is
`<SystemName> <SMTPFrom>` (SMTPFrom defaults to SMTPAccount), the subject UTF-8, the body HTML.
"""

from __future__ import annotations

import smtplib
import ssl
from email.header import Header
from email.message import EmailMessage
from email.utils import formataddr, formatdate, make_msgid

from oneapi.errors import OneAPIError
from oneapi.services import options

TIMEOUT = 15


class MailError(OneAPIError):
    """The mail could not be sent (no server configured, connection or SMTP failure)."""


def send_email(subject: str, receiver: str, html: str) -> None:
    """Send one HTML mail to `receiver` (several addresses separated by `;`, as in One API)."""
    recipients = [r.strip() for r in receiver.split(";") if r.strip()]
    server, port = options.get("SMTPServer").strip(), options.get_int("SMTPPort")
    if not recipients:
        raise MailError("收件人为空")
    if not server:
        raise MailError("SMTP 服务器未配置")
    account, token = options.get("SMTPAccount"), options.get("SMTPToken")
    sender = options.get("SMTPFrom") or account
    message = build_message(subject, sender, recipients, html)
    try:
        with _connect(server, port) as smtp:
            if account or token:
                smtp.login(account, token)
            smtp.send_message(message, from_addr=sender, to_addrs=recipients)
    except (OSError, smtplib.SMTPException) as exc:
        raise MailError("邮件发送失败：{error}", error=str(exc) or type(exc).__name__) from exc


def build_message(subject: str, sender: str, recipients: list[str], html: str) -> EmailMessage:
    message = EmailMessage()
    message["To"] = ", ".join(recipients)
    message["From"] = formataddr((options.get("SystemName"), sender))
    message["Subject"] = Header(subject, "utf-8").encode()
    domain = sender.rpartition("@")[2] or None
    message["Message-ID"] = make_msgid(domain=domain)
    message["Date"] = formatdate(localtime=True)
    message.set_content(html, subtype="html", charset="utf-8")
    return message


def _connect(server: str, port: int) -> smtplib.SMTP:
    if port == 465:
        # One API skips certificate verification on implicit TLS (InsecureSkipVerify).
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        return smtplib.SMTP_SSL(server, port, timeout=TIMEOUT, context=context)
    smtp = smtplib.SMTP(server, port, timeout=TIMEOUT)
    try:
        smtp.ehlo()
        if smtp.has_extn("starttls"):
            smtp.starttls(context=ssl.create_default_context())
            smtp.ehlo()
    except BaseException:
        smtp.close()
        raise
    return smtp
