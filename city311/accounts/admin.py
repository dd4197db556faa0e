from django.contrib import admin
from django.contrib.auth.admin import UserAdmin
from django.contrib.auth.models import User

from city311.accounts.models import Membership, StaffProfile


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 1
    verbose_name = "department"
    verbose_name_plural = "departments this person works for"


class StaffProfileInline(admin.StackedInline):
    # How the phone system names the person: the call-events webhook pops their console by it.
    model = StaffProfile
    can_delete = False
    max_num = 1


admin.site.unregister(User)


@admin.register(User)
class StaffAdmin(UserAdmin):
    inlines = [*UserAdmin.inlines, MembershipInline, StaffProfileInline]
    list_display = ["username", "first_name", "last_name", "is_active", "is_staff"]
