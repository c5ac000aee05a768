"""HTML pages the emulator serves in place of Stripe's hosted ones.

Plain forms with labelled buttons, no script, so a person and a Playwright test click the same things:

- Checkout (`session.url`, `/c/pay/<session id>`): "Pay", "Decline", "Pay later (succeeds)",
  "Pay later (fails)", "Back". A declined card keeps the session open and shows "Your card was declined."
  in an alert, as Stripe does; a card number field accepts Stripe's test numbers (4000 0000 0000 0002
  declines).
- Onboarding (an account link's `url`): "Complete onboarding" and "Abandon".
- Express dashboard (a login link's `url`): the account's balance and transfers.
- `/_emulator/`: a small console for humans: sessions waiting for a delayed payment ("Settle"), charges
  ("Open dispute"), open disputes ("Close as won" / "Close as lost"), the recent events and deliveries.
"""

from __future__ import annotations

from html import escape
from typing import Any

from stripe_emulator.state import EmulatorState

_STYLE = """
body{font-family:system-ui,sans-serif;max-width:44rem;margin:2rem auto;padding:0 1rem;color:#1a1a2e}
h1{font-size:1.4rem} .amount{font-size:2rem;font-weight:600}
button{font:inherit;padding:.5rem 1rem;margin:.25rem .25rem .25rem 0;border-radius:6px;
border:1px solid #635bff;
background:#fff;color:#635bff;cursor:pointer} button.primary{background:#635bff;color:#fff}
.alert{background:#fde8e8;border:1px solid #e02424;padding:.75rem;border-radius:6px}
.note{color:#555;font-size:.9rem} table{border-collapse:collapse;width:100%;font-size:.85rem}
td,th{border-bottom:1px solid #ddd;padding:.3rem;text-align:left;vertical-align:top}
label{display:block;margin:.5rem 0 .25rem} input{font:inherit;padding:.4rem;width:16rem}
.banner{background:#fff3cd;padding:.3rem .6rem;font-size:.8rem;border-radius:4px;display:inline-block}
"""


def page(title: str, body: str) -> str:
    return (
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>"
        f"<title>{escape(title)}</title><meta name='viewport' content='width=device-width, initial-scale=1'>"
        f"<style>{_STYLE}</style></head><body><p class='banner'>Stripe emulator: test mode</p>"
        f"{body}</body></html>"
    )


def money(amount: int, currency: str) -> str:
    return f"{amount / 100:,.2f} {currency.upper()}"


def checkout_page(state: EmulatorState, session_id: str, *, message: str | None = None) -> tuple[int, str]:
    with state.lock:
        session = state.checkout_sessions.get(session_id)
        private = state.session_private.get(session_id, {})
        if session is None:
            return 404, page(
                "Not found", "<h1>Something went wrong</h1><p>This checkout page does not exist.</p>"
            )
        line_items = private.get("line_items", [])
        message = message or private.get("decline_message")
    if session["status"] != "open":
        text = {
            "complete": "This payment has already been completed.",
            "expired": "This checkout session has expired.",
        }[session["status"]]
        return 200, page("Checkout", f"<h1>Checkout</h1><p>{escape(text)}</p>")
    items = "".join(
        f"<li>{escape(item['price_data']['product_data']['name'])} x {item['quantity']}</li>"
        for item in line_items
    )
    alert = f"<p class='alert' role='alert'>{escape(message)}</p>" if message else ""
    email = escape(session.get("customer_email") or "")
    body = f"""
<h1>Pay</h1>
<p class='amount'>{money(session["amount_total"], session["currency"])}</p>
<ul>{items}</ul>
<p>Email: {email or "<em>not given</em>"}</p>
{alert}
<form method='post' action='/c/pay/{escape(session_id)}'>
  <label for='card_number'>Card number</label>
  <input id='card_number' name='card_number' value='4242 4242 4242 4242' autocomplete='off'>
  <p class='note'>4242 4242 4242 4242 pays; 4000 0000 0000 0002 is declined.</p>
  <button class='primary' type='submit' name='action' value='pay'>Pay</button>
  <button type='submit' name='action' value='decline'>Decline</button>
  <button type='submit' name='action' value='pay_later_succeeds'>Pay later (succeeds)</button>
  <button type='submit' name='action' value='pay_later_fails'>Pay later (fails)</button>
  <button type='submit' name='action' value='back'>Back</button>
</form>
<p class='note'>"Pay later" stands for a bank debit: the session completes unpaid and settles later.</p>
"""
    return 200, page("Checkout", body)


def onboarding_page(link: dict[str, Any], account: dict[str, Any], token: str) -> str:
    body = f"""
<h1>Set up payouts</h1>
<p>Connected account <code>{escape(account["id"])}</code> ({escape(account.get("email") or "no email")}).</p>
<form method='post' action='/connect/onboarding/{escape(token)}'>
  <button class='primary' type='submit' name='action' value='complete'>Complete onboarding</button>
  <button type='submit' name='action' value='abandon'>Abandon</button>
</form>
"""
    return page("Onboarding", body)


def express_dashboard_page(state: EmulatorState, account_id: str) -> str:
    with state.lock:
        account = state.accounts[account_id]
        balances = dict(state.account_balances.get(account_id, {}))
        transfers = [t for t in state.transfers.values() if t["destination"] == account_id]
    rows = "".join(
        f"<tr><td>{escape(t['id'])}</td><td>{money(t['amount'], t['currency'])}</td>"
        f"<td>{money(t['amount_reversed'], t['currency'])}</td>"
        f"<td>{escape(t['transfer_group'] or '')}</td></tr>"
        for t in transfers
    )
    balance_text = ", ".join(money(amount, currency) for currency, amount in balances.items()) or "0.00"
    body = f"""
<h1>Express dashboard</h1>
<p>Account <code>{escape(account_id)}</code> ({escape(account.get("email") or "")})</p>
<p>Available balance: {balance_text}</p>
<table><thead><tr><th>Transfer</th><th>Amount</th><th>Reversed</th><th>Group</th></tr></thead>
<tbody>{rows}</tbody></table>
"""
    return page("Express dashboard", body)


def _button(action: str, label: str, **fields: str) -> str:
    hidden = "".join(
        f"<input type='hidden' name='{escape(name)}' value='{escape(value)}'>"
        for name, value in fields.items()
    )
    return (
        f"<form method='post' action='{escape(action)}' style='display:inline'>{hidden}"
        f"<button type='submit'>{escape(label)}</button></form>"
    )


def console_page(state: EmulatorState) -> str:
    snapshot = state.snapshot()
    sessions = "".join(
        f"<tr><td><a href='/c/pay/{escape(s['id'])}'>{escape(s['id'][:20])}…</a></td>"
        f"<td>{escape(s['status'])}</td>"
        f"<td>{escape(s['payment_status'])}</td><td>{money(s['amount_total'], s['currency'])}</td><td>"
        + (
            _button(f"/_emulator/checkout/sessions/{s['id']}/settle", "Settle")
            if s["status"] == "complete" and s["payment_status"] == "unpaid"
            else ""
        )
        + (
            _button(f"/_emulator/checkout/sessions/{s['id']}/expire", "Expire")
            if s["status"] == "open"
            else ""
        )
        + "</td></tr>"
        for s in reversed(list(snapshot["checkout_sessions"].values()))
    )
    charges = "".join(
        f"<tr><td>{escape(c['id'])}</td><td>{escape(c['status'])}</td>"
        f"<td>{money(c['amount'], c['currency'])}</td>"
        f"<td>{money(c['amount_refunded'], c['currency'])}</td><td>"
        + (
            _button(f"/_emulator/charges/{c['id']}/dispute", "Open dispute")
            if not c["disputed"]
            else "disputed"
        )
        + "</td></tr>"
        for c in reversed(list(snapshot["charges"].values()))
    )
    disputes = "".join(
        f"<tr><td>{escape(d['id'])}</td><td>{escape(d['charge'])}</td><td>{escape(d['status'])}</td><td>"
        + (
            _button(f"/_emulator/disputes/{d['id']}/close", "Close as won", status="won")
            + _button(f"/_emulator/disputes/{d['id']}/close", "Close as lost", status="lost")
            if d["status"] == "needs_response"
            else ""
        )
        + "</td></tr>"
        for d in snapshot["disputes"].values()
    )
    deliveries = "".join(
        f"<tr><td>{escape(d['event_type'])}</td><td>{escape(d['event_id'])}</td><td>{escape(d['status'])}</td>"
        f"<td>{len(d['attempts'])}</td></tr>"
        for d in reversed(snapshot["deliveries"][-30:])
    )
    available = ", ".join(money(a, c) for c, a in snapshot["balance"]["available"].items()) or "0.00"
    body = f"""
<h1>Stripe emulator console</h1>
<p>Platform available balance: {available}.
<a href='/_emulator/state'>State as JSON</a></p>
<form method='post' action='/_emulator/balance'>
<label for='available'>Set available balance (cents, USD)</label>
<input id='available' name='available' value='100000'> <button type='submit'>Set balance</button></form>
<h2>Checkout sessions</h2><table><tr><th>Id</th><th>Status</th><th>Payment</th><th>Amount</th><th></th></tr>
{sessions}</table>
<h2>Charges</h2><table><tr><th>Id</th><th>Status</th><th>Amount</th><th>Refunded</th><th></th></tr>{charges}</table>
<h2>Disputes</h2><table><tr><th>Id</th><th>Charge</th><th>Status</th><th></th></tr>{disputes}</table>
<h2>Webhook deliveries (latest 30)</h2>
<table><tr><th>Type</th><th>Event</th><th>Status</th><th>Attempts</th></tr>
{deliveries}</table>
"""
    return page("Stripe emulator", body)
