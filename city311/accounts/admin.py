from django.contrib import admin
from django.contrib.auth.admin import UserAdmin
from django.contrib.auth.models import User

from city311.accounts.models import Membership


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 1
    verbose_name = "department"
    verbose_name_plural = "departments this person works for"


admin.site.unregister(User)


@admin.register(User)
class StaffAdmin(UserAdmin):
    inlines = [*UserAdmin.inlines, MembershipInline]
    list_display = ["username", "first_name", "last_name", "is_active", "is_staff"]
