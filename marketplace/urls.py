from django.conf import settings
from django.conf.urls.static import static
from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from marketplace import views

urlpatterns = [
    path("", views.home, name="home"),
    path("healthz/", views.healthz, name="healthz"),
    path("favicon.ico", views.favicon, name="favicon"),
    path("accounts/signup/", views.signup, name="signup"),
    path("accounts/login/", views.LoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("accounts/profile/", views.profile, name="profile"),
    # Ours, ahead of Django's own below: limited, and the email goes out from a task.
    path("accounts/password_reset/", views.PasswordResetView.as_view(), name="password_reset"),
    # Password change and reset: Django's views with our templates (templates/registration/).
    path("accounts/", include("django.contrib.auth.urls")),
    path("", include("providers.urls")),
    path("", include("bookings.urls")),
    path("", include("payments.urls")),
    path("", include("notifications.urls")),
    path("admin/", admin.site.urls),
]

# Uploaded files (provider photos) in development. static() adds nothing unless DEBUG is on; production serves
# MEDIA_URL from its object storage or web server.
urlpatterns += static(settings.MEDIA_URL, document_root=settings.MEDIA_ROOT)
