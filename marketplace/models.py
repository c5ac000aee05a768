"""The marketplace's own models: the User (email is the login)."""

from django.contrib.auth.base_user import AbstractBaseUser, BaseUserManager
from django.contrib.auth.models import PermissionsMixin
from django.db import models
from django.db.models.functions import Lower
from django.utils.timezone import now
from django.utils.translation import gettext_lazy as _

from marketplace.timezones import is_valid_timezone


def validate_timezone(value: str) -> None:
    from django.core.exceptions import ValidationError

    if not is_valid_timezone(value):
        raise ValidationError(_("“%(value)s” is not a known time zone."), params={"value": value})


class UserManager(BaseUserManager["User"]):
    use_in_migrations = True

    def _create_user(self, email: str, password: str | None, **extra_fields) -> "User":
        if not email:
            raise ValueError("Users must have an email address.")
        user = self.model(email=self.normalize_email(email), **extra_fields)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_user(self, email: str, password: str | None = None, **extra_fields) -> "User":
        extra_fields.setdefault("is_staff", False)
        extra_fields.setdefault("is_superuser", False)
        return self._create_user(email, password, **extra_fields)

    def create_superuser(self, email: str, password: str | None = None, **extra_fields) -> "User":
        extra_fields["is_staff"] = True
        extra_fields["is_superuser"] = True
        return self._create_user(email, password, **extra_fields)

    @classmethod
    def normalize_email(cls, email: str | None) -> str:
        # The whole address is folded to lower case: people type their email with random capitals and
        # expect to log in with any of them, and a second account for "Ann@X.com" would be a mistake.
        return (email or "").strip().lower()

    def get_by_natural_key(self, username: str | None) -> "User":
        return self.get(email=self.normalize_email(username))


class User(AbstractBaseUser, PermissionsMixin):
    email = models.EmailField(_("email address"), unique=True)
    name = models.CharField(_("name"), max_length=150, blank=True)
    timezone = models.CharField(
        _("time zone"),
        max_length=64,
        default="UTC",
        validators=[validate_timezone],
        help_text=_("IANA zone, e.g. Europe/Berlin. Times are shown to you in this zone."),
    )
    is_staff = models.BooleanField(
        _("staff status"), default=False, help_text=_("Can log into the admin site.")
    )
    is_active = models.BooleanField(_("active"), default=True)
    # Receipts and money messages always go; these two kinds can be turned off on the profile page.
    has_reminders_on = models.BooleanField(
        _("session reminders by email"), default=True, help_text=_("A reminder the day before each session.")
    )
    has_tips_on = models.BooleanField(
        _("tips by email"), default=True, help_text=_("Occasional tips on getting more from the marketplace.")
    )
    date_joined = models.DateTimeField(_("date joined"), default=now)

    objects = UserManager()

    EMAIL_FIELD = "email"
    USERNAME_FIELD = "email"
    REQUIRED_FIELDS: list[str] = []

    class Meta:
        verbose_name = _("user")
        verbose_name_plural = _("users")
        constraints = [
            # normalize_email already lower-cases; the database refuses a case-variant duplicate from any
            # code path that forgot to.
            models.UniqueConstraint(Lower("email"), name="marketplace_user_email_ci_unique"),
        ]

    def __str__(self) -> str:
        return self.email

    @property
    def display_name(self) -> str:
        return self.name or self.email.split("@", 1)[0]

    @property
    def is_provider(self) -> bool:
        return hasattr(self, "provider")

    def clean(self) -> None:
        super().clean()
        self.email = UserManager.normalize_email(self.email)

    def get_full_name(self) -> str:
        return self.name

    def get_short_name(self) -> str:
        return self.display_name


class AuditEntry(models.Model):
    """An append-only record of something that matters: every money action and status move of payments and
    refunds, and admin actions. Read in Django admin; never updated or deleted by the app."""

    actor = models.ForeignKey(
        "marketplace.User", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    action = models.CharField(max_length=64, help_text="What happened, e.g. payment.paid, refund.requested.")
    object_type = models.CharField(max_length=64, help_text="app_label.model of the subject.")
    object_id = models.CharField(max_length=64)
    from_status = models.CharField(max_length=32, blank=True)
    to_status = models.CharField(max_length=32, blank=True)
    reason = models.CharField(max_length=255, blank=True)
    data = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(default=now, db_index=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        indexes = [models.Index(fields=["object_type", "object_id"], name="marketplace_audit_subject")]
        verbose_name_plural = "audit entries"

    def __str__(self) -> str:
        return f"{self.action} {self.object_type}#{self.object_id}"
