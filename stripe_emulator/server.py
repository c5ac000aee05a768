"""The emulator's HTTP server: Stripe's API, the hosted pages and the `/_emulator/...` control endpoints.

`StripeEmulator` bundles the state, the webhook dispatcher, the fault plan and a
`ThreadingHTTPServer`; `start()` serves in background threads (tests), `serve_forever()` blocks
(the command line). A clock thread (`EmulatorState.tick`) expires checkout sessions whose `expires_at` has
passed, makes pending funds available when their `available_on` passes and forgets idempotency keys older
than 24 hours.

Control endpoints take JSON (or a plain HTML form, which then redirects back to the console) and answer JSON:

    POST /_emulator/reset                               forget everything (faults, deliveries too; empties
                                                        the state file too when there is one)
    GET  /_emulator/state                               JSON dump of all objects, balances, events,
                                                        deliveries, requests
    POST /_emulator/balance                             {"available": 10000, "currency": "usd"}: set the
                                                        platform's available balance (an adjustment)
    POST /_emulator/balance/settle                      make every pending fund available now
    POST /_emulator/idempotency/age                     {"seconds": 86400}: every stored key first used
                                                        that much earlier (keys expire after 24 hours)
    POST /_emulator/accounts/<acct>/balance             connected account's available balance, same body
    POST /_emulator/accounts/<acct>/payout              pay out its available balance; optional
                                                        {"amount": 1000, "currency": "usd"}
    POST /_emulator/accounts/<acct>/complete_onboarding transfers capability active + account.updated
    POST /_emulator/accounts/<acct>/review              {"outcome": "approve" | "require_more"}: finish the
                                                        review of an account left under review
    POST /_emulator/accounts/<acct>/disable_transfers   transfers capability inactive + account.updated
    POST /_emulator/checkout/sessions/<cs>/pay          {"method": "card" | "declined_card" |
                                                         "delayed_success" | "delayed_failure"}
    POST /_emulator/checkout/sessions/<cs>/settle       settle a delayed payment; optional
                                                        {"outcome": "succeeded" | "failed"}
    POST /_emulator/checkout/sessions/<cs>/expire       expire now (checkout.session.expired)
    POST /_emulator/charges/<ch>/dispute                {"reason": "fraudulent",
                                                         "kind": "chargeback" | "inquiry"}
    POST /_emulator/disputes/<dp>/evidence              submit evidence: under review
    POST /_emulator/disputes/<dp>/close                 {"status": "won" | "lost" | "warning_closed"}
    POST /_emulator/refunds/<re>/settle                 {"status": "succeeded" | "failed",
                                                         "failure_reason": "expired_or_canceled_card"}
    GET|POST|DELETE /_emulator/faults                   POST {"faults": ["POST /v1/transfers=500x2", ...],
                                                         "replace": true}; DELETE clears
    GET|POST /_emulator/webhooks                        {"url", "connect_url", "duplicates", "out_of_order",
                                                         "max_attempts", "backoff_seconds", ...}
    POST /_emulator/webhooks/wait                       block until no delivery is pending; {"timeout": 5}
    POST /_emulator/config                              {"async_delay_seconds": 5 | null,
                                                         "refunds_start_pending": true | false}
    GET  /_emulator/                                    the console page for humans
"""

from __future__ import annotations

import json
import logging
import re
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, replace
from html import escape
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from stripe_emulator.api import handle_api
from stripe_emulator.faults import FaultPlan, FaultSpecError, fault_from_json
from stripe_emulator.pages import checkout_page, console_page, express_dashboard_page, onboarding_page, page
from stripe_emulator.state import EmulatorState
from stripe_emulator.webhooks import WebhookDispatcher, WebhookSettings
from stripe_emulator.wire import StripeApiError

logger = logging.getLogger("stripe_emulator")

CHECKOUT_ACTIONS = {
    "pay": "card",
    "decline": "declined_card",
    "pay_later_succeeds": "delayed_success",
    "pay_later_fails": "delayed_failure",
}


class StripeEmulator:
    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 12111,
        public_url: str | None = None,
        webhooks: WebhookSettings | None = None,
        faults: list[str] | None = None,
        fault_delay: float | None = None,
        clock_interval: float = 1.0,
        state_file: str | Path | None = None,
    ) -> None:
        """`state_file`: keep the account in this JSON file (loaded now if it exists, saved after every
        change; see persistence.py). Raises `StateFileError` naming the file if it cannot be loaded."""
        self._initial_webhooks = replace(webhooks) if webhooks else WebhookSettings()
        self.dispatcher = WebhookDispatcher(replace(self._initial_webhooks))
        self.fault_plan = FaultPlan()
        self.httpd = ThreadingHTTPServer((host, port), _make_handler(self))
        self.httpd.daemon_threads = True
        bound_host, bound_port = self.httpd.server_address[:2]
        self.url = f"http://{bound_host!s}:{bound_port}"
        try:
            self.state = EmulatorState(
                public_url=public_url or self.url,
                webhooks=self.dispatcher,
                faults=self.fault_plan,
                state_file=state_file,
            )
        except BaseException:
            self.httpd.server_close()
            self.dispatcher.stop()
            raise
        for spec in faults or []:
            self.fault_plan.add(
                fault_from_json({"spec": spec, "delay": fault_delay} if fault_delay else spec)
            )
        self._initial_faults = list(faults or [])
        self._fault_delay = fault_delay
        # Set to release requests held back by a `timeout` fault (on reset and stop).
        self.interrupt = threading.Event()
        self._clock_interval = clock_interval
        self._stopped = threading.Event()
        self._threads: list[threading.Thread] = []

    @property
    def port(self) -> int:
        return int(self.httpd.server_address[1])

    def start(self) -> StripeEmulator:
        """Serve in background threads and return at once."""
        self.state.resume_settlements()
        for target, name in ((self._serve, "stripe-emulator-http"), (self._clock, "stripe-emulator-clock")):
            thread = threading.Thread(target=target, name=name, daemon=True)
            thread.start()
            self._threads.append(thread)
        return self

    def _serve(self) -> None:
        # A short poll interval so `stop()` (which waits for the loop to notice) is quick in tests.
        self.httpd.serve_forever(poll_interval=0.1)

    def serve_forever(self) -> None:
        self.state.resume_settlements()
        clock = threading.Thread(target=self._clock, name="stripe-emulator-clock", daemon=True)
        clock.start()
        try:
            self.httpd.serve_forever()
        finally:
            self.stop()

    def stop(self) -> None:
        self._stopped.set()
        self.interrupt.set()
        self.httpd.shutdown()
        self.httpd.server_close()
        self.dispatcher.stop()

    def reset(self) -> None:
        """Back to a fresh account with the settings the emulator was started with."""
        self.interrupt.set()
        self.interrupt = threading.Event()
        self.state.reset()
        self.dispatcher.configure(**asdict(self._initial_webhooks))
        for spec in self._initial_faults:
            self.fault_plan.add(
                fault_from_json({"spec": spec, "delay": self._fault_delay} if self._fault_delay else spec)
            )

    def _clock(self) -> None:
        while not self._stopped.wait(self._clock_interval):
            try:
                self.state.tick()
            except Exception:  # the clock must keep ticking whatever one tick hit
                logger.exception("Stripe emulator clock tick failed")


# Control endpoints ----------------------------------------------------------------------------------

ControlHandler = Callable[[StripeEmulator, dict[str, Any], dict[str, str]], Any]
_CONTROL: list[tuple[str, re.Pattern[str], ControlHandler]] = []


def control(method: str, path: str) -> Callable[[ControlHandler], ControlHandler]:
    regex = re.compile("^/_emulator" + re.sub(r"\{(\w+)\}", r"(?P<\1>[^/]+)", path) + "$")

    def register(handler: ControlHandler) -> ControlHandler:
        _CONTROL.append((method, regex, handler))
        return handler

    return register


@control("POST", "/reset")
def _reset(emulator: StripeEmulator, body: dict[str, Any], ids: dict[str, str]) -> Any:
    emulator.reset()
    return {"reset": True}


@control("GET", "/state")
def _state(emulator: StripeEmulator, body: dict[str, Any], ids: dict[str, str]) -> Any:
    return emulator.state.snapshot()


@control("POST", "/balance")
def _balance(emulator: StripeEmulator, body: dict[str, Any], ids: dict[str, str]) -> Any:
    return emulator.state.control_set_balance(
        available=int(body["available"]), currency=body.get("currency", "usd")
    )


@control("POST", "/balance/settle")
def _settle_balance(emulator: StripeEmulator, body: dict[str, Any], ids: dict[str, str]) -> Any:
    return emulator.state.control_settle_balance()


@control("POST", "/idempotency/age")
def _age_idempotency_keys(emulator: StripeEmulator, body: dict[str, Any], ids: dict[str, str]) -> Any:
    return emulator.state.control_age_idempotency_keys(float(body["seconds"]))


@control("POST", "/accounts/{id}/payout")
def _payout(emulator: StripeEmulator, body: dict[str, Any], ids: dict[str, str]) -> Any:
    amount = body.get("amount")
    return emulator.state.control_payout(
        ids["id"],
        amount=None if amount in (None, "") else int(amount),
        currency=body.get("currency") or "usd",
    )


@control("POST", "/accounts/{id}/review")
def _review(emulator: StripeEmulator, body: dict[str, Any], ids: dict[str, str]) -> Any:
    return emulator.state.control_review_account(ids["id"], outcome=body.get("outcome", ""))


@control("POST", "/accounts/{id}/balance")
def _account_balance(emulator: StripeEmulator, body: dict[str, Any], ids: dict[str, str]) -> Any:
    return emulator.state.control_set_account_balance(
        ids["id"], available=int(body["available"]), currency=body.get("currency", "usd")
    )


@control("POST", "/accounts/{id}/complete_onboarding")
def _complete_onboarding(emulator: StripeEmulator, body: dict[str, Any], ids: dict[str, str]) -> Any:
    return emulator.state.control_complete_onboarding(ids["id"])


@control("POST", "/accounts/{id}/disable_transfers")
def _disable_transfers(emulator: StripeEmulator, body: dict[str, Any], ids: dict[str, str]) -> Any:
    return emulator.state.control_disable_transfers(ids["id"])


@control("POST", "/checkout/sessions/{id}/pay")
def _pay(emulator: StripeEmulator, body: dict[str, Any], ids: dict[str, str]) -> Any:
    return emulator.state.control_pay_session(
        ids["id"], method=body.get("method", "card"), card_number=body.get("card_number")
    )


@control("POST", "/checkout/sessions/{id}/settle")
def _settle(emulator: StripeEmulator, body: dict[str, Any], ids: dict[str, str]) -> Any:
    return emulator.state.control_settle_session(ids["id"], outcome=body.get("outcome"))


@control("POST", "/checkout/sessions/{id}/expire")
def _expire(emulator: StripeEmulator, body: dict[str, Any], ids: dict[str, str]) -> Any:
    return emulator.state.control_expire_session(ids["id"])


@control("POST", "/charges/{id}/dispute")
def _dispute(emulator: StripeEmulator, body: dict[str, Any], ids: dict[str, str]) -> Any:
    return emulator.state.control_open_dispute(
        ids["id"], reason=body.get("reason") or "fraudulent", kind=body.get("kind") or "chargeback"
    )


@control("POST", "/disputes/{id}/evidence")
def _dispute_evidence(emulator: StripeEmulator, body: dict[str, Any], ids: dict[str, str]) -> Any:
    return emulator.state.control_submit_dispute_evidence(ids["id"])


@control("POST", "/disputes/{id}/close")
def _close_dispute(emulator: StripeEmulator, body: dict[str, Any], ids: dict[str, str]) -> Any:
    return emulator.state.control_close_dispute(ids["id"], status=body.get("status", ""))


@control("POST", "/refunds/{id}/settle")
def _settle_refund(emulator: StripeEmulator, body: dict[str, Any], ids: dict[str, str]) -> Any:
    return emulator.state.control_settle_refund(
        ids["id"], status=body.get("status", ""), failure_reason=body.get("failure_reason") or None
    )


@control("GET", "/faults")
def _faults(emulator: StripeEmulator, body: dict[str, Any], ids: dict[str, str]) -> Any:
    return {"faults": emulator.fault_plan.to_list()}


@control("POST", "/faults")
def _set_faults(emulator: StripeEmulator, body: dict[str, Any], ids: dict[str, str]) -> Any:
    raw = body.get("faults", [])
    try:
        faults = [fault_from_json(item) for item in (raw if isinstance(raw, list) else [raw])]
    except (FaultSpecError, KeyError, ValueError) as exc:
        raise StripeApiError(400, str(exc), param="faults") from exc
    if body.get("replace", True):
        emulator.fault_plan.replace(faults)
    else:
        for fault in faults:
            emulator.fault_plan.add(fault)
    return {"faults": emulator.fault_plan.to_list()}


@control("DELETE", "/faults")
def _clear_faults(emulator: StripeEmulator, body: dict[str, Any], ids: dict[str, str]) -> Any:
    emulator.fault_plan.clear()
    return {"faults": []}


@control("GET", "/webhooks")
def _webhooks(emulator: StripeEmulator, body: dict[str, Any], ids: dict[str, str]) -> Any:
    return emulator.state.snapshot()["webhooks"]


@control("POST", "/webhooks")
def _set_webhooks(emulator: StripeEmulator, body: dict[str, Any], ids: dict[str, str]) -> Any:
    try:
        emulator.dispatcher.configure(**body)
    except ValueError as exc:
        raise StripeApiError(400, str(exc)) from exc
    return emulator.state.snapshot()["webhooks"]


@control("POST", "/webhooks/wait")
def _wait_webhooks(emulator: StripeEmulator, body: dict[str, Any], ids: dict[str, str]) -> Any:
    return {"idle": emulator.dispatcher.wait_idle(timeout=float(body.get("timeout", 5)))}


@control("POST", "/config")
def _config(emulator: StripeEmulator, body: dict[str, Any], ids: dict[str, str]) -> Any:
    state = emulator.state
    with state.lock:
        if "async_delay_seconds" in body:
            delay = body["async_delay_seconds"]
            state.async_delay_seconds = None if delay in (None, "") else float(delay)
        if "refunds_start_pending" in body:
            state.refunds_start_pending = bool(body["refunds_start_pending"])
        return {
            "async_delay_seconds": state.async_delay_seconds,
            "refunds_start_pending": state.refunds_start_pending,
        }


# HTTP -----------------------------------------------------------------------------------------------


def _make_handler(emulator: StripeEmulator) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        server_version = "StripeEmulator/1.0"

        def log_message(self, format: str, *args: Any) -> None:
            logger.debug("%s " + format, self.address_string(), *args)

        def do_GET(self) -> None:
            self._dispatch("GET")

        def do_POST(self) -> None:
            self._dispatch("POST")

        def do_DELETE(self) -> None:
            self._dispatch("DELETE")

        def _dispatch(self, method: str) -> None:
            url = urlsplit(self.path)
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length).decode() if length else ""
            try:
                if url.path.startswith("/v1/"):
                    self._api(method, url.path, url.query, body)
                elif url.path.startswith("/_emulator"):
                    self._control(method, url.path, body)
                else:
                    self._page(method, url.path, body)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client gave up (e.g. a timeout fault): nothing left to answer
            except Exception:
                logger.exception("Stripe emulator failed on %s %s", method, self.path)
                self._json(500, {"error": {"type": "api_error", "message": "The emulator itself failed."}})

        def _api(self, method: str, path: str, query: str, body: str) -> None:
            headers = {name.lower(): value for name, value in self.headers.items()}
            interrupt = emulator.interrupt
            response = handle_api(
                emulator.state, method=method, path=path, query=query, body=body, headers=headers
            )
            if response.hold_seconds:
                interrupt.wait(response.hold_seconds)
            self._json(response.status, response.body, response.headers)

        def _control(self, method: str, path: str, body: str) -> None:
            if path in ("/_emulator", "/_emulator/") and method == "GET":
                self._html(200, console_page(emulator.state))
                return
            is_form = "application/x-www-form-urlencoded" in (self.headers.get("Content-Type") or "")
            try:
                data = dict(parse_qsl(body)) if is_form else (json.loads(body) if body.strip() else {})
            except json.JSONDecodeError:
                self._json(400, {"error": {"type": "invalid_request_error", "message": "Body must be JSON."}})
                return
            for route_method, regex, handler in _CONTROL:
                match = regex.match(path)
                if match and route_method == method:
                    try:
                        result = handler(emulator, data, match.groupdict())
                    except StripeApiError as exc:
                        if is_form:
                            self._html(
                                exc.status, page("Error", f"<p role='alert'>{escape(exc.message)}</p>")
                            )
                        else:
                            self._json(exc.status, exc.body())
                        return
                    except (KeyError, ValueError, TypeError) as exc:
                        message = f"Bad request body: {exc!r}"
                        self._json(400, {"error": {"type": "invalid_request_error", "message": message}})
                        return
                    if is_form:
                        self._redirect("/_emulator/")
                    else:
                        self._json(200, result)
                    return
            self._json(
                404, {"error": {"type": "invalid_request_error", "message": f"No control endpoint {path}"}}
            )

        def _page(self, method: str, path: str, body: str) -> None:
            form = dict(parse_qsl(body))
            if match := re.fullmatch(r"/c/pay/([^/]+)", path):
                self._checkout(method, match[1], form)
            elif match := re.fullmatch(r"/connect/onboarding/([^/]+)", path):
                self._onboarding(method, match[1], form)
            elif (match := re.fullmatch(r"/express/([^/]+)", path)) and method == "GET":
                link = emulator.state.login_links.get(match[1])
                if link is None:
                    self._html(404, page("Not found", "<h1>This link is not valid.</h1>"))
                else:
                    self._html(200, express_dashboard_page(emulator.state, link["account"]))
            else:
                self._html(404, page("Not found", "<h1>Not found</h1>"))

        def _checkout(self, method: str, session_id: str, form: dict[str, str]) -> None:
            if method == "POST":
                action = form.get("action", "")
                session = emulator.state.checkout_sessions.get(session_id)
                if action == "back" and session is not None and session["cancel_url"]:
                    self._redirect(session["cancel_url"])
                    return
                if action in CHECKOUT_ACTIONS:
                    try:
                        result = emulator.state.control_pay_session(
                            session_id, method=CHECKOUT_ACTIONS[action], card_number=form.get("card_number")
                        )
                    except StripeApiError as exc:
                        status, html = checkout_page(emulator.state, session_id, message=exc.message)
                        self._html(status, html)
                        return
                    if result["redirect_url"]:
                        self._redirect(result["redirect_url"])
                        return
            status, html = checkout_page(emulator.state, session_id)
            self._html(status, html)

        def _onboarding(self, method: str, token: str, form: dict[str, str]) -> None:
            state = emulator.state
            link = state.account_link_for(token)
            if link is None:
                self._html(404, page("Not found", "<h1>This onboarding link is not valid.</h1>"))
                return
            if method == "POST":
                try:
                    location = state.control_finish_onboarding(token, action=form.get("action", ""))
                except StripeApiError as exc:
                    self._html(exc.status, page("Error", f"<p role='alert'>{escape(exc.message)}</p>"))
                    return
                self._redirect(location)
                return
            if link["used"] or link["expires_at"] < int(time.time()):
                # Stripe sends a used or expired link to refresh_url, where the app makes a new one.
                self._redirect(link["refresh_url"])
                return
            self._html(200, onboarding_page(link, state.api_account_retrieve(link["account"]), token))

        def _json(self, status: int, body: Any, headers: dict[str, str] | None = None) -> None:
            payload = json.dumps(body, indent=2).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(payload)

        def _html(self, status: int, html: str) -> None:
            payload = html.encode()
            self.send_response(status)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def _redirect(self, location: str) -> None:
            self.send_response(303)
            self.send_header("Location", location)
            self.send_header("Content-Length", "0")
            self.end_headers()

    return Handler
