"""HTML pages the emulator serves in place of Stripe's hosted ones.

Plain forms with labelled buttons, no script, so a person and a Playwright test click the same things:

- Checkout (`session.url`, `/c/pay/<session id>`): "Pay", "Decline", "Pay later (succeeds)",
  "Pay later (fails)", "Back". A declined card keeps the session open and shows "Your card was declined."
  in an alert, as Stripe does; a card number field accepts Stripe's test numbers (4000 0000 0000 0002
  declines).
- Onboarding (an account link's `url`): "Complete onboarding" (all done, transfers active), "Submit,
  leave under review" (details submitted, still being verified), "Save and leave details missing" (some
  requirements still due) and "Abandon" (nothing saved; the link is spent).
- Express dashboard (a login link's `url`): the account's balances and transfers.
- `/_emulator/`: a small console for humans: balances ("Make pending funds available"), sessions waiting
  for a delayed payment ("Settle"), charges ("Open inquiry" / "Open chargeback"), refunds ("Make this
  refund fail"), transfers, disputes ("Submit evidence", "Close as won" / "Close as lost" / "Close inquiry"),
  connected accounts ("Pay out", "Approve review" / "Require more"), the latest webhook deliveries.
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
    # Bank debits only where the session offers them (a platform may allow cards only, as Stripe lets it).
    bank_debits = (
        """
  <button type='submit' name='action' value='pay_later_succeeds'>Pay later (succeeds)</button>
  <button type='submit' name='action' value='pay_later_fails'>Pay later (fails)</button>"""
        if "us_bank_account" in session.get("payment_method_types", [])
        else ""
    )
    bank_note = (
        "<p class='note'>\"Pay later\" stands for a bank debit: the session completes unpaid and settles "
        "later.</p>"
        if bank_debits
        else "<p class='note'>This checkout accepts cards only.</p>"
    )
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
  <button type='submit' name='action' value='decline'>Decline</button>{bank_debits}
  <button type='submit' name='action' value='back'>Back</button>
</form>
{bank_note}
"""
    return 200, page("Checkout", body)


def onboarding_page(link: dict[str, Any], account: dict[str, Any], token: str) -> str:
    due = ", ".join(account["requirements"]["currently_due"]) or "nothing"
    body = f"""
<h1>Set up payouts</h1>
<p>Connected account <code>{escape(account["id"])}</code> ({escape(account.get("email") or "no email")},
{escape(account["country"])}, {escape(account["tos_acceptance"]["service_agreement"])} service agreement).</p>
<p class='note'>Still due: {escape(due)}.</p>
<form method='post' action='/connect/onboarding/{escape(token)}'>
  <button class='primary' type='submit' name='action' value='complete'>Complete onboarding</button>
  <button type='submit' name='action' value='submit'>Submit, leave under review</button>
  <button type='submit' name='action' value='save'>Save and leave details missing</button>
  <button type='submit' name='action' value='abandon'>Abandon</button>
</form>
<p class='note'>"Submit" leaves the details being verified (transfers pending) until a review is finished
on the console; "Save" leaves some requirements due. Both return to the platform; "Abandon" saves nothing.</p>
"""
    return page("Onboarding", body)


def _amounts(amounts: dict[str, int]) -> str:
    return ", ".join(money(amount, currency) for currency, amount in amounts.items()) or "0.00"


def express_dashboard_page(state: EmulatorState, account_id: str) -> str:
    snapshot = state.snapshot()
    account = snapshot["accounts"][account_id]
    balances = snapshot["account_balances"][account_id]
    transfers = [t for t in snapshot["transfers"].values() if t["destination"] == account_id]
    rows = "".join(
        f"<tr><td>{escape(t['id'])}</td><td>{money(t['amount'], t['currency'])}</td>"
        f"<td>{money(t['amount_reversed'], t['currency'])}</td>"
        f"<td>{escape(t['transfer_group'] or '')}</td></tr>"
        for t in transfers
    )
    body = f"""
<h1>Express dashboard</h1>
<p>Account <code>{escape(account_id)}</code> ({escape(account.get("email") or "")})</p>
<p>Available balance: {_amounts(balances["available"])}. Pending: {_amounts(balances["pending"])}.</p>
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


def _session_rows(snapshot: dict[str, Any]) -> str:
    return "".join(
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


def _charge_rows(snapshot: dict[str, Any]) -> str:
    def actions(charge: dict[str, Any]) -> str:
        if charge["disputed"]:
            return "disputed"
        if charge["status"] != "succeeded" or charge["refunded"]:
            return ""
        action = f"/_emulator/charges/{charge['id']}/dispute"
        return _button(action, "Open inquiry", kind="inquiry") + _button(
            action, "Open chargeback", kind="chargeback"
        )

    return "".join(
        f"<tr><td>{escape(c['id'])}</td><td>{escape(c['status'])}</td>"
        f"<td>{money(c['amount'], c['currency'])}</td>"
        f"<td>{money(c['amount_refunded'], c['currency'])}</td><td>{actions(c)}</td></tr>"
        for c in reversed(list(snapshot["charges"].values()))
    )


def _refund_rows(snapshot: dict[str, Any]) -> str:
    def actions(refund: dict[str, Any]) -> str:
        action = f"/_emulator/refunds/{refund['id']}/settle"
        buttons = _button(action, "Succeed", status="succeeded") if refund["status"] == "pending" else ""
        if refund["status"] in ("pending", "succeeded"):
            buttons += _button(action, "Make this refund fail", status="failed")
        return buttons

    return "".join(
        f"<tr><td>{escape(r['id'])}</td><td>{escape(r['charge'])}</td><td>{escape(r['status'])}</td>"
        f"<td>{money(r['amount'], r['currency'])}</td><td>{actions(r)}</td></tr>"
        for r in reversed(list(snapshot["refunds"].values()))
    )


def _transfer_rows(snapshot: dict[str, Any]) -> str:
    return "".join(
        f"<tr><td>{escape(t['id'])}</td><td>{escape(t['destination'])}</td>"
        f"<td>{money(t['amount'], t['currency'])}</td><td>{money(t['amount_reversed'], t['currency'])}</td>"
        f"<td>{escape(t['source_transaction'] or '')}</td><td>{escape(t['transfer_group'] or '')}</td></tr>"
        for t in reversed(list(snapshot["transfers"].values()))
    )


def _dispute_rows(snapshot: dict[str, Any]) -> str:
    def actions(dispute: dict[str, Any]) -> str:
        close, status = f"/_emulator/disputes/{dispute['id']}/close", dispute["status"]
        evidence = _button(f"/_emulator/disputes/{dispute['id']}/evidence", "Submit evidence")
        if status in ("needs_response", "under_review"):
            return (
                (evidence if status == "needs_response" else "")
                + _button(close, "Close as won", status="won")
                + _button(close, "Close as lost", status="lost")
            )
        if status in ("warning_needs_response", "warning_under_review"):
            return (evidence if status == "warning_needs_response" else "") + _button(
                close, "Close inquiry", status="warning_closed"
            )
        return ""

    return "".join(
        f"<tr><td>{escape(d['id'])}</td><td>{escape(d['charge'])}</td><td>{escape(d['status'])}</td>"
        f"<td>{money(d['amount'], d['currency'])}</td><td>{actions(d)}</td></tr>"
        for d in snapshot["disputes"].values()
    )


def _account_rows(snapshot: dict[str, Any]) -> str:
    def actions(account: dict[str, Any]) -> str:
        base = f"/_emulator/accounts/{account['id']}"
        buttons = _button(f"{base}/payout", "Pay out")
        if account["requirements"]["pending_verification"]:
            buttons += _button(f"{base}/review", "Approve review", outcome="approve")
            buttons += _button(f"{base}/review", "Require more", outcome="require_more")
        return buttons

    return "".join(
        f"<tr><td>{escape(a['id'])}</td><td>{escape(a['country'])}</td>"
        f"<td>{escape(a['tos_acceptance']['service_agreement'])}</td>"
        f"<td>{escape(str(a['capabilities'].get('transfers')))}</td>"
        f"<td>{_amounts(snapshot['account_balances'][a['id']]['available'])}</td>"
        f"<td>{_amounts(snapshot['account_balances'][a['id']]['pending'])}</td><td>{actions(a)}</td></tr>"
        for a in snapshot["accounts"].values()
    )


def console_page(state: EmulatorState) -> str:
    snapshot = state.snapshot()
    deliveries = "".join(
        f"<tr><td>{escape(d['event_type'])}</td><td>{escape(d['event_id'])}</td><td>{escape(d['status'])}</td>"
        f"<td>{len(d['attempts'])}</td></tr>"
        for d in reversed(snapshot["deliveries"][-30:])
    )
    balance = snapshot["balance"]
    body = f"""
<h1>Stripe emulator console</h1>
<p>Platform balance: available {_amounts(balance["available"])}, pending {_amounts(balance["pending"])}.
<a href='/_emulator/state'>State as JSON</a></p>
{_button("/_emulator/balance/settle", "Make pending funds available")}
<form method='post' action='/_emulator/balance'>
<label for='available'>Set available balance (cents, USD)</label>
<input id='available' name='available' value='100000'> <button type='submit'>Set balance</button></form>
<h2>Checkout sessions</h2><table><tr><th>Id</th><th>Status</th><th>Payment</th><th>Amount</th><th></th></tr>
{_session_rows(snapshot)}</table>
<h2>Charges</h2><table><tr><th>Id</th><th>Status</th><th>Amount</th><th>Refunded</th><th></th></tr>
{_charge_rows(snapshot)}</table>
<h2>Refunds</h2><table><tr><th>Id</th><th>Charge</th><th>Status</th><th>Amount</th><th></th></tr>
{_refund_rows(snapshot)}</table>
<h2>Transfers</h2><table><tr><th>Id</th><th>Destination</th><th>Amount</th><th>Reversed</th>
<th>Source charge</th><th>Transfer group</th></tr>
{_transfer_rows(snapshot)}</table>
<h2>Disputes</h2><table><tr><th>Id</th><th>Charge</th><th>Status</th><th>Amount</th><th></th></tr>
{_dispute_rows(snapshot)}</table>
<h2>Connected accounts</h2><table><tr><th>Id</th><th>Country</th><th>Agreement</th><th>Transfers</th>
<th>Available</th><th>Pending</th><th></th></tr>
{_account_rows(snapshot)}</table>
<h2>Webhook deliveries (latest 30)</h2>
<table><tr><th>Type</th><th>Event</th><th>Status</th><th>Attempts</th></tr>
{deliveries}</table>
"""
    return page("Stripe emulator", body)
