from django.apps import AppConfig


class PaymentsConfig(AppConfig):
    name = "payments"

    def ready(self) -> None:
        # bookings decides who may review a session without importing payments; we tell it which sessions
        # were refunded in full.
        from bookings.reviews import register_review_refusal
        from payments.selectors import booking_review_refusal

        register_review_refusal(booking_review_refusal)
