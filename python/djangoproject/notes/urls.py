from django.urls import path

from . import views

urlpatterns = [
    path("", views.index, name="index"),
    path("api/notes/", views.note_list, name="note-list"),
    path("api/notes/<int:pk>/", views.note_detail, name="note-detail"),
]
