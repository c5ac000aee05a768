from celery import shared_task

from bookings.services import booking_expire_lapsed_holds


@shared_task
def expire_holds_task() -> None:
    booking_expire_lapsed_holds()
