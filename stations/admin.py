"""Admin for the one desk's staff."""

from django.contrib import admin

from stations.models import Leave, SocialWorker, Station


@admin.register(Station)
class StationAdmin(admin.ModelAdmin):
    list_display = ["name", "community", "phone", "opening_hours"]
    list_select_related = ["community"]


class LeaveInline(admin.TabularInline):
    model = Leave
    fk_name = "worker"
    extra = 0
    raw_id_fields = ["cover"]


@admin.register(SocialWorker)
class SocialWorkerAdmin(admin.ModelAdmin):
    list_display = ["display_name", "community", "worker_type", "is_active"]
    list_filter = ["community", "worker_type", "is_active"]
    list_select_related = ["community"]
    filter_horizontal = ["buildings"]
    raw_id_fields = ["user"]
    inlines = [LeaveInline]


@admin.register(Leave)
class LeaveAdmin(admin.ModelAdmin):
    list_display = ["worker", "starts_on", "ends_on", "cover"]
    list_select_related = ["worker", "cover"]
