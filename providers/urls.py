from django.urls import path

from providers import views

app_name = "providers"

urlpatterns = [
    path("dashboard/", views.dashboard, name="dashboard"),
    path("dashboard/profile/", views.edit_profile, name="edit_profile"),
    path("dashboard/services/", views.services, name="services"),
    path("dashboard/services/new/", views.service_new, name="service_new"),
    path("dashboard/services/<int:service_id>/", views.service_edit, name="service_edit"),
    path("dashboard/availability/", views.availability, name="availability"),
    path("dashboard/time-off/", views.time_off, name="time_off"),
    path("dashboard/time-off/<int:time_off_id>/delete/", views.time_off_remove, name="time_off_remove"),
    path("dashboard/booking-settings/", views.booking_settings, name="booking_settings"),
    path("become-a-provider/", views.become_provider, name="become"),
    path("providers/", views.search, name="search"),
    path("p/<slug:slug>/", views.profile, name="profile"),
    path("p/<slug:slug>/favourite/", views.favourite, name="favourite"),
    path("favourites/", views.favourites, name="favourites"),
    path("timezone/", views.set_timezone, name="set_timezone"),
]
