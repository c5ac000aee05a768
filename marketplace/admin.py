from django.conf import settings
from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.contrib.auth.forms import AdminUserCreationForm, UserChangeForm

from marketplace.models import AuditEntry, User

# Staff see the marketplace's name, not "Django administration", in the admin's header and page titles.
admin.site.site_header = f"{settings.SITE_NAME} admin"
admin.site.site_title = f"{settings.SITE_NAME} admin"


class UserChangeAdminForm(UserChangeForm):
    class Meta(UserChangeForm.Meta):
        model = User
        fields = "__all__"


class UserCreationAdminForm(AdminUserCreationForm):
    class Meta(AdminUserCreationForm.Meta):
        model = User
        fields = ("email", "name")


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    form = UserChangeAdminForm
    add_form = UserCreationAdminForm
    ordering = ("email",)
    list_display = ("email", "name", "timezone", "is_staff", "is_active", "date_joined")
    list_filter = ("is_staff", "is_superuser", "is_active")
    search_fields = ("email", "name")
    fieldsets = (
        (None, {"fields": ("email", "password")}),
        ("Personal info", {"fields": ("name", "timezone")}),
        ("Permissions", {"fields": ("is_active", "is_staff", "is_superuser", "groups", "user_permissions")}),
        ("Important dates", {"fields": ("last_login", "date_joined")}),
    )
    add_fieldsets = ((None, {"classes": ("wide",), "fields": ("email", "name", "password1", "password2")}),)


@admin.register(AuditEntry)
class AuditEntryAdmin(admin.ModelAdmin):
    list_display = (
        "created_at",
        "action",
        "object_type",
        "object_id",
        "from_status",
        "to_status",
        "actor",
        "reason",
    )
    list_filter = ("action", "object_type")
    search_fields = ("object_id", "reason", "actor__email")
    date_hierarchy = "created_at"

    # An audit log that can be edited is not one.
    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


# Integer minor-unit columns across the money models; shown in the currency's units ($45.00), never "4500".
MONEY_FIELDS = frozenset(
    {
        "amount",
        "amount_reversed",
        "debt_netted",
        "refund_amount",
        "funds_withdrawn",
        "funds_reinstated",
        "fee",
        "recovered",
        "price_amount",
        "platform_fee_amount",
        "provider_amount",
    }
)


class MoneyColumnsMixin:
    """For a model admin (or inline) of rows with ``currency``: every minor-unit field in ``MONEY_FIELDS``
    is listed and shown read-only as money in the row's currency."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        for field in self.model._meta.fields:  # type: ignore[attr-defined]
            if field.name in MONEY_FIELDS:
                setattr(self, f"{field.name}_money", self._money_column(field.name, str(field.verbose_name)))

    @staticmethod
    def _money_column(name: str, label: str):
        from marketplace.money import format_money

        @admin.display(description=label, ordering=name)
        def column(obj) -> str:
            value = getattr(obj, name)
            return "" if value is None else format_money(value, obj.currency)

        return column

    def _money_names(self, names):
        return [f"{name}_money" if isinstance(name, str) and name in MONEY_FIELDS else name for name in names]

    def get_list_display(self, request):
        return self._money_names(super().get_list_display(request))  # type: ignore[misc]

    def get_fields(self, request, obj=None):
        return self._money_names(super().get_fields(request, obj))  # type: ignore[misc]

    def get_readonly_fields(self, request, obj=None):
        return self._money_names(super().get_readonly_fields(request, obj))  # type: ignore[misc]

    @staticmethod
    def _model_fields_only(kwargs, compute):
        # The money columns are display-only: keep them out of the model form (admin shows them read-only).
        # Django's own get_fields asks with fields=None; leave that (and avoid recursing through it).
        if "fields" not in kwargs:
            kwargs["fields"] = compute()
        if kwargs["fields"] is not None:
            kwargs["fields"] = [
                f for f in kwargs["fields"] if not (isinstance(f, str) and f.endswith("_money"))
            ]
        return kwargs

    def get_form(self, request, obj=None, change=False, **kwargs):
        from django.contrib.admin.utils import flatten_fieldsets

        kwargs = self._model_fields_only(
            kwargs,
            lambda: flatten_fieldsets(self.get_fieldsets(request, obj)),  # type: ignore[attr-defined]
        )
        return super().get_form(request, obj, change=change, **kwargs)  # type: ignore[misc]

    def get_formset(self, request, obj=None, **kwargs):
        from django.contrib.admin.utils import flatten_fieldsets

        kwargs = self._model_fields_only(
            kwargs,
            lambda: flatten_fieldsets(self.get_fieldsets(request, obj)),  # type: ignore[attr-defined]
        )
        return super().get_formset(request, obj, **kwargs)  # type: ignore[misc]
