from django.urls import path

from residents.views import history, imports, people, places

app_name = "residents"

urlpatterns = [
    path("residents/", people.resident_list, name="resident_list"),
    path("residents/new/", people.resident_create, name="resident_create"),
    path("residents/export/", people.resident_export, name="resident_export"),
    path("residents/<int:pk>/", people.resident_detail, name="resident_detail"),
    path("residents/<int:pk>/edit/", people.resident_update, name="resident_update"),
    path("residents/<int:pk>/reveal/<str:field>/", people.resident_reveal, name="resident_reveal"),
    path("residents/<int:pk>/erase/", people.resident_erase, name="resident_erase"),
    path("residents/<int:pk>/history/", history.resident_history, name="resident_history"),
    path("access-log/", people.access_log, name="access_log"),
    path("communities/<int:pk>/", places.community_detail, name="community_detail"),
    path("buildings/", places.building_list, name="building_list"),
    path("buildings/<int:pk>/", places.building_detail, name="building_detail"),
    path("communities/<int:pk>/home-check/", people.home_check, name="home_check"),
    path("households/new/", places.household_create, name="household_create"),
    path("households/<int:pk>/", places.household_detail, name="household_detail"),
    path("households/<int:pk>/edit/", places.household_update, name="household_update"),
    path("households/<int:pk>/history/", history.household_history, name="household_history"),
    path("imports/", imports.import_list, name="import_list"),
    path("imports/<int:pk>/", imports.import_detail, name="import_detail"),
    path("imports/<int:pk>/check/", imports.import_check, name="import_check"),
    path("imports/<int:pk>/apply/", imports.import_apply, name="import_apply"),
]
