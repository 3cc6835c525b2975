from django.urls import path

from stations.views import dashboard, desk, history, public, requests, space_admin, spaces, visits

app_name = "stations"

urlpatterns = [
    # The desk's people
    path("workers/", desk.worker_list, name="worker_list"),
    path("workers/<int:pk>/", desk.worker_detail, name="worker_detail"),
    path("workers/<int:pk>/leave/", desk.leave_create, name="leave_create"),
    path("notifications/", desk.notification_list, name="notification_list"),
    # Requests (staff)
    path("requests/", requests.request_list, name="request_list"),
    path("requests/queue/", requests.my_queue, name="my_queue"),
    path("requests/new/", requests.request_create, name="request_create"),
    path("requests/lookup/", requests.resident_lookup, name="resident_lookup"),
    path("requests/<int:pk>/", requests.request_detail, name="request_detail"),
    path("requests/<int:pk>/transition/", requests.request_transition, name="request_transition"),
    path("requests/<int:pk>/assign/", requests.request_assign, name="request_assign"),
    path("requests/<int:pk>/urge/", requests.request_urge, name="request_urge"),
    path("requests/<int:pk>/extension/", requests.extension_create, name="extension_create"),
    path(
        "requests/<int:pk>/extension/<int:extension_pk>/decide/",
        requests.extension_decide,
        name="extension_decide",
    ),
    path("requests/<int:pk>/callback/", requests.request_callback, name="request_callback"),
    path("requests/<int:pk>/notes/", requests.note_create, name="note_create"),
    path("requests/<int:pk>/notes/<int:note_pk>/edit/", requests.note_update, name="note_update"),
    path("requests/<int:pk>/photos/", requests.photo_create, name="photo_create"),
    path("requests/<int:pk>/photos/<int:photo_pk>/", requests.request_photo, name="request_photo"),
    path("requests/<int:pk>/receipt/", requests.request_receipt, name="request_receipt"),
    path("requests/<int:pk>/history/", history.request_history, name="request_history"),
    # Walking service
    path("visits/", visits.visit_list, name="visit_list"),
    path("visits/new/", visits.visit_create, name="visit_create"),
    path("visits/<int:pk>/", visits.visit_detail, name="visit_detail"),
    path("households/<int:pk>/activity/", visits.household_activity, name="household_activity"),
    path("proactive/", visits.proactive_list, name="proactive_list"),
    path("errands/", visits.errand_list, name="errand_list"),
    path("errands/new/", visits.errand_create, name="errand_create"),
    # Residents' side and public tracking
    path("my/requests/", public.own_request_list, name="own_request_list"),
    path("my/requests/new/", public.own_request_create, name="own_request_create"),
    path("my/requests/<str:token>/", public.own_request_detail, name="own_request_detail"),
    path("my/requests/<str:token>/rate/", public.own_request_rate, name="own_request_rate"),
    path("track/", public.track, name="track"),
    # Spaces and courses (residents and staff)
    path("spaces/", spaces.space_list, name="space_list"),
    path("spaces/<int:pk>/", spaces.space_week, name="space_week"),
    path("spaces/<int:pk>/book/", spaces.booking_create, name="booking_create"),
    path("spaces/<int:pk>/series/", spaces.booking_series, name="booking_series"),
    path("spaces/<int:pk>/photo/", spaces.space_photo, name="space_photo"),
    path("spaces/feed/<str:token>.ics", spaces.space_feed, name="space_feed"),
    path("my/bookings/", spaces.own_bookings, name="own_bookings"),
    path("bookings/<int:pk>/cancel/", spaces.booking_cancel, name="booking_cancel"),
    path("courses/", spaces.course_list, name="course_list"),
    path("courses/<int:pk>/", spaces.course_detail, name="course_detail"),
    path("courses/<int:pk>/enrol/", spaces.course_enrol, name="course_enrol"),
    path("courses/<int:pk>/leave/", spaces.course_leave, name="course_leave"),
    # Spaces and courses (staff)
    path("bookings/approvals/", space_admin.approval_list, name="approval_list"),
    path("bookings/<int:pk>/decide/", space_admin.booking_decide, name="booking_decide"),
    path("bookings/<int:pk>/check-in/", space_admin.booking_check_in, name="booking_check_in"),
    path("bookings/<int:pk>/history/", history.booking_history, name="booking_history"),
    path("spaces/today/", space_admin.today_schedule, name="today_schedule"),
    path("spaces/<int:pk>/block/", space_admin.space_block, name="space_block"),
    path("spaces/utilisation/", space_admin.utilisation, name="utilisation"),
    path("courses/new/", space_admin.course_create, name="course_create"),
    path("courses/<int:pk>/sessions/new/", space_admin.course_session_create, name="course_session_create"),
    path("sessions/<int:pk>/attendance/", space_admin.session_attendance, name="session_attendance"),
    # Dashboards and the monthly report
    path("dashboard/", dashboard.dashboard, name="dashboard"),
    path("dashboard/community/<int:pk>/", dashboard.community_dashboard, name="community_dashboard"),
    path("dashboard/subdistrict/", dashboard.subdistrict_dashboard, name="subdistrict_dashboard"),
    path("reports/<int:year>/<int:month>/", dashboard.monthly_report, name="monthly_report"),
    path("reports/<int:year>/<int:month>.xlsx", dashboard.monthly_report_xlsx, name="monthly_report_xlsx"),
    path("reports/<int:year>/<int:month>.csv", dashboard.monthly_report_csv, name="monthly_report_csv"),
]
