"""The Resend email backend, against a local HTTP server that records what Resend would receive."""

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.core.mail import EmailMultiAlternatives, get_connection


class _FakeResend(BaseHTTPRequestHandler):
    received: list[dict] = []
    status = 200

    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        type(self).received.append(
            {"path": self.path, "auth": self.headers["Authorization"], "json": json.loads(body)}
        )
        self.send_response(self.status)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        payload = (
            {"id": "email_123"} if self.status == 200 else {"name": "validation_error", "message": "bad from"}
        )
        self.wfile.write(json.dumps(payload).encode())

    def log_message(self, *args):
        pass


@pytest.fixture
def resend_server(settings):
    _FakeResend.received = []
    _FakeResend.status = 200
    server = ThreadingHTTPServer(("127.0.0.1", 0), _FakeResend)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    settings.RESEND_API_KEY = "re_test_key"
    settings.RESEND_API_URL = f"http://127.0.0.1:{server.server_port}"
    yield _FakeResend
    server.shutdown()


def test_sends_text_and_html_through_resend(resend_server):
    message = EmailMultiAlternatives(
        subject="Your booking",
        body="Plain text",
        from_email="Sessions <hello@example.com>",
        to=["Ann <ann@example.com>"],
        reply_to=["help@example.com"],
    )
    message.attach_alternative("<p>HTML</p>", "text/html")

    sent = get_connection("notifications.backends.ResendEmailBackend").send_messages([message])

    assert sent == 1
    [request] = resend_server.received
    assert request["path"] == "/emails"
    assert request["auth"] == "Bearer re_test_key"
    assert request["json"] == {
        "from": "Sessions <hello@example.com>",
        "to": ["Ann <ann@example.com>"],
        "subject": "Your booking",
        "text": "Plain text",
        "html": "<p>HTML</p>",
        "reply_to": ["help@example.com"],
    }


def test_a_refused_message_raises_unless_failing_silently(resend_server):
    resend_server.status = 422
    message = EmailMultiAlternatives(subject="x", body="y", from_email="bad", to=["ann@example.com"])

    with pytest.raises(Exception, match="bad from"):
        get_connection("notifications.backends.ResendEmailBackend").send_messages([message])
    assert (
        get_connection("notifications.backends.ResendEmailBackend", fail_silently=True).send_messages(
            [message]
        )
        == 0
    )


def test_without_an_api_key_it_refuses_to_pretend(settings):
    settings.RESEND_API_KEY = ""
    message = EmailMultiAlternatives(subject="x", body="y", to=["ann@example.com"])

    with pytest.raises(ValueError, match="RESEND_API_KEY"):
        get_connection("notifications.backends.ResendEmailBackend").send_messages([message])
