from django.urls import path

from bookings import views

app_name = "bookings"

urlpatterns = [
    path("book/<int:service_id>/", views.book, name="book"),
    path("bookings/", views.my_bookings, name="mine"),
    path("dashboard/bookings/", views.provider_bookings, name="provider_bookings"),
    path("bookings/<str:reference>/", views.detail, name="detail"),
    path("bookings/<str:reference>/checkout/", views.checkout, name="checkout"),
    path("bookings/<str:reference>/paid/", views.checkout_success, name="checkout_success"),
    path("bookings/<str:reference>/checkout-cancelled/", views.checkout_cancelled, name="checkout_cancelled"),
    path("bookings/<str:reference>/cancel/", views.cancel, name="cancel"),
    path("bookings/<str:reference>/complete/", views.complete, name="complete"),
    path("bookings/<str:reference>/report/", views.report_problem, name="report_problem"),
    path("bookings/<str:reference>/review/", views.review, name="review"),
    path("bookings/<str:reference>/review/reply/", views.review_reply_view, name="review_reply"),
    path("bookings/<str:reference>/receipt/", views.receipt, name="receipt"),
]
