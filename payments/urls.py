from django.urls import path

from payments import connect_views, earnings_views, operator_views, payout_views, views

app_name = "payments"

urlpatterns = [
    # Inside the admin's URL space, for staff; included ahead of the admin site, so it is matched first.
    path("admin/dashboard/", operator_views.operator_dashboard, name="operator_dashboard"),
    path("webhooks/stripe/", views.stripe_webhook, name="stripe_webhook"),
    path("webhooks/stripe/connect/", views.stripe_connect_webhook, name="stripe_connect_webhook"),
    # Payout setup lives in the provider dashboard's URL space; payments owns it because it talks to Stripe.
    path("dashboard/payouts/", payout_views.payouts, name="payouts"),
    path("dashboard/earnings/", earnings_views.earnings, name="earnings"),
    path("dashboard/earnings.csv", earnings_views.earnings_csv, name="earnings_csv"),
    path("dashboard/payouts/setup/", connect_views.connect_setup, name="connect_setup"),
    path("dashboard/payouts/setup/refresh/", connect_views.connect_refresh, name="connect_refresh"),
    path("dashboard/payouts/setup/return/", connect_views.connect_return, name="connect_return"),
    path("dashboard/payouts/stripe-dashboard/", connect_views.connect_express, name="connect_express"),
]
