from django.contrib import admin

from providers.models import AvailabilityRule, Category, Provider, Service, TimeOff
from providers.services import provider_refresh_next_available, provider_reindex_search


@admin.register(Category)
class CategoryAdmin(admin.ModelAdmin):
    list_display = ("name", "slug")
    prepopulated_fields = {"slug": ("name",)}
    search_fields = ("name",)


class ServiceInline(admin.TabularInline):
    model = Service
    extra = 0
    fields = ("title", "duration_minutes", "price_amount", "currency", "location", "is_active")


class AvailabilityRuleInline(admin.TabularInline):
    model = AvailabilityRule
    extra = 0


class TimeOffInline(admin.TabularInline):
    model = TimeOff
    extra = 0


@admin.register(Provider)
class ProviderAdmin(admin.ModelAdmin):
    list_display = (
        "display_name",
        "user",
        "slug",
        "category",
        "city",
        "timezone",
        "platform_fee_percent",
        "is_active",
        "next_available_at",
    )
    list_filter = ("is_active", "category", "stripe_transfers_capability")
    search_fields = ("display_name", "user__email", "slug", "city")
    raw_id_fields = ("user",)
    # Payout fields mirror Stripe and are written only by payments.connect: shown, never edited here.
    PAYOUT_FIELDS = (
        "payout_country",
        "stripe_account_id",
        "stripe_transfers_capability",
        "stripe_details_submitted",
        "stripe_payouts_enabled",
        "stripe_requirements_due",
        "stripe_requirements_pending",
        "stripe_disabled_reason",
        "payouts_blocked_reason",
        "stripe_synced_at",
    )
    readonly_fields = (
        "next_available_at",
        "rating_average",
        "rating_count",
        "created_at",
        "updated_at",
        *PAYOUT_FIELDS,
    )
    fieldsets = (
        (None, {"fields": ("user", "display_name", "slug", "is_active")}),
        ("Profile", {"fields": ("headline", "bio", "photo", "category", "city", "timezone")}),
        (
            "Money",
            {
                "fields": ("platform_fee_percent",),
                "description": "Staff only: leave empty for the platform's default fee.",
            },
        ),
        (
            "Payouts (Stripe Connect)",
            {
                "fields": PAYOUT_FIELDS,
                "description": "As Stripe last reported it; the provider's onboarding and Stripe's "
                "account.updated events keep it current.",
            },
        ),
        (
            "Booking settings",
            {
                "fields": (
                    "min_notice_minutes",
                    "booking_horizon_days",
                    "buffer_before_minutes",
                    "buffer_after_minutes",
                    "slot_step_minutes",
                )
            },
        ),
        (
            "Computed",
            {"fields": ("next_available_at", "rating_average", "rating_count", "created_at", "updated_at")},
        ),
    )
    inlines = [ServiceInline, AvailabilityRuleInline, TimeOffInline]

    def save_related(self, request, form, formsets, change) -> None:
        super().save_related(request, form, formsets, change)
        # Staff edits (deactivating a provider, fixing a service) must reach search like a provider's own.
        provider_reindex_search(provider_id=form.instance.pk)
        provider_refresh_next_available(provider_id=form.instance.pk)
