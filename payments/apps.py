from django.apps import AppConfig


class PaymentsConfig(AppConfig):
    name = "payments"

    def ready(self) -> None:
        # providers' time-off page asks which booked sessions a time off covers and, if the provider chooses,
        # cancels them with full refunds; both live here and in bookings, which providers never imports.
        from bookings.selectors import covered_sessions
        from payments.services import bookings_cancel_for_time_off
        from providers.time_off import register_covered_sessions

        register_covered_sessions(find=covered_sessions, cancel=bookings_cancel_for_time_off)
        # bookings decides who may review a session without importing payments; we tell it which sessions
        # were refunded in full.
        from bookings.reviews import register_review_refusal
        from payments.selectors import booking_review_refusal

        register_review_refusal(booking_review_refusal)
