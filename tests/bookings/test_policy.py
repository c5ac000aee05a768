from datetime import UTC, datetime, timedelta

import pytest

from bookings.policy import cancellation_terms

START = datetime(2026, 12, 10, 15, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("before_start", "percent"),
    [
        (timedelta(hours=24, minutes=1), 100),
        (timedelta(hours=24), 100),  # exactly on the boundary still counts as in time
        (timedelta(hours=23, minutes=59), 0),
        (timedelta(minutes=5), 0),
    ],
)
def test_client_refund_by_time_left(before_start, percent, settings):
    settings.CANCELLATION_FULL_REFUND_HOURS = 24
    settings.LATE_CANCELLATION_REFUND_PERCENT = 0

    terms = cancellation_terms(price_amount=4500, start_at=START, by_client=True, now=START - before_start)

    assert terms.refund_percent == percent
    assert terms.refund_amount == 4500 * percent // 100


def test_late_cancellation_share_is_configurable_and_rounds_half_up(settings):
    settings.LATE_CANCELLATION_REFUND_PERCENT = 50

    terms = cancellation_terms(
        price_amount=4501, start_at=START, by_client=True, now=START - timedelta(hours=1)
    )

    assert terms.refund_amount == 2251


def test_the_free_cancellation_window_is_configurable(settings):
    settings.CANCELLATION_FULL_REFUND_HOURS = 48

    terms = cancellation_terms(
        price_amount=4500, start_at=START, by_client=True, now=START - timedelta(hours=30)
    )

    assert terms.refund_amount == 0
    assert terms.full_refund_deadline == START - timedelta(hours=48)


def test_a_provider_cancelling_always_refunds_in_full():
    terms = cancellation_terms(
        price_amount=4500, start_at=START, by_client=False, now=START - timedelta(minutes=1)
    )

    assert terms.refund_amount == 4500
