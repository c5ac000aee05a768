"""The emulator's hosted pages, clicked by a real Chromium the way the app's browser journeys will."""

from datetime import UTC, datetime, timedelta

import pytest

from payments import gateway

pytestmark = pytest.mark.browser


@pytest.fixture
def emulator_page(browser, stripe_emulator):
    context = browser.new_context()
    context.set_default_timeout(10_000)
    yield context.new_page()
    context.close()


def _session_returning_to_the_console(stripe_emulator) -> gateway.CheckoutSession:
    # The emulator's console stands in for the app's success and cancel pages: no live_server needed.
    return gateway.checkout_session_create(
        booking_ref="42",
        amount=5000,
        currency="usd",
        product_name="Guitar lesson",
        customer_email="client@example.com",
        success_url=f"{stripe_emulator.url}/_emulator/?paid={{CHECKOUT_SESSION_ID}}",
        cancel_url=f"{stripe_emulator.url}/_emulator/?cancelled=1",
        expires_at=datetime.now(UTC) + timedelta(hours=1),
        transfer_group="booking-42",
        metadata={"booking_id": "42"},
        idempotency_key="checkout-42-1",
    )


def test_clicking_pay_returns_to_the_success_url(emulator_page, stripe_emulator):
    session = _session_returning_to_the_console(stripe_emulator)
    emulator_page.goto(session.url)

    emulator_page.get_by_role("button", name="Pay", exact=True).click()

    emulator_page.wait_for_url(f"**/_emulator/?paid={session.id}")
    assert gateway.checkout_session_retrieve(session_id=session.id).is_paid


def test_clicking_decline_shows_the_decline_in_an_alert(emulator_page, stripe_emulator):
    session = _session_returning_to_the_console(stripe_emulator)
    emulator_page.goto(session.url)

    emulator_page.get_by_role("button", name="Decline").click()

    assert emulator_page.get_by_role("alert").inner_text() == "Your card was declined."


def test_clicking_complete_onboarding_returns_to_return_url(emulator_page, stripe_emulator):
    account = gateway.connect_account_create(
        email="p@example.com", country="US", metadata={}, idempotency_key="a"
    )
    link = gateway.connect_account_link_create(
        account_id=account.id,
        refresh_url=f"{stripe_emulator.url}/_emulator/?refresh=1",
        return_url=f"{stripe_emulator.url}/_emulator/?onboarded=1",
        idempotency_key="link-1",
    )
    emulator_page.goto(link.url)

    emulator_page.get_by_role("button", name="Complete onboarding").click()

    emulator_page.wait_for_url("**/_emulator/?onboarded=1")
    assert gateway.connect_account_retrieve(account_id=account.id).can_receive_transfers


def test_clicking_submit_leaves_the_account_under_review_until_approved(emulator_page, stripe_emulator):
    account = gateway.connect_account_create(
        email="p@example.com", country="US", metadata={}, idempotency_key="a"
    )
    link = gateway.connect_account_link_create(
        account_id=account.id,
        refresh_url=f"{stripe_emulator.url}/_emulator/?refresh=1",
        return_url=f"{stripe_emulator.url}/_emulator/?returned=1",
        idempotency_key="link-1",
    )
    emulator_page.goto(link.url)

    emulator_page.get_by_role("button", name="Submit, leave under review").click()
    emulator_page.wait_for_url("**/_emulator/?returned=1")
    under_review = gateway.connect_account_retrieve(account_id=account.id)
    emulator_page.get_by_role("button", name="Approve review").click()
    emulator_page.wait_for_url("**/_emulator/")

    assert under_review.transfers_capability == "pending"
    assert gateway.connect_account_retrieve(account_id=account.id).can_receive_transfers


def test_clicking_make_this_refund_fail_on_the_console(emulator_page, stripe_emulator):
    session = _session_returning_to_the_console(stripe_emulator)
    stripe_emulator.pay(session.id)
    intent_id = gateway.checkout_session_retrieve(session_id=session.id).payment_intent_id
    refund = gateway.refund_create(
        payment_intent_id=intent_id, amount=None, metadata={}, idempotency_key="r-1"
    )
    emulator_page.goto(f"{stripe_emulator.url}/_emulator/")

    emulator_page.get_by_role("button", name="Make this refund fail").click()
    emulator_page.wait_for_url("**/_emulator/")

    assert gateway.refund_retrieve(refund_id=refund.id).status == "failed"
