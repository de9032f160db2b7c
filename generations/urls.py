from django.urls import path

from . import views, views_staff

urlpatterns = [
    path("", views.home, name="home"),
    path("g/<uuid:pk>/", views.detail, name="generation_detail"),
    path("g/<uuid:pk>/status.json", views.status_json, name="generation_status"),
    path("g/<uuid:pk>/image", views.image, name="generation_image"),
    path("g/<uuid:pk>/thumbnail", views.thumbnail, name="generation_thumbnail"),
    path("g/<uuid:pk>/cancel", views.cancel, name="generation_cancel"),
    path("staff/usage/", views_staff.usage, name="staff_usage"),
    path("staff/usage.csv", views_staff.usage_csv, name="staff_usage_csv"),
    path("staff/team/", views_staff.team, name="staff_team"),
]
