from django.contrib import admin

from providers.models import Provider


@admin.register(Provider)
class ProviderAdmin(admin.ModelAdmin):
    list_display = ("display_name", "user", "slug", "timezone", "created_at")
    search_fields = ("display_name", "user__email", "slug")
    raw_id_fields = ("user",)
