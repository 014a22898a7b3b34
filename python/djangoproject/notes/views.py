from django.http import JsonResponse
from django.shortcuts import get_object_or_404, render
from django.views.decorators.http import require_safe

from .models import Note


@require_safe
def index(request):
    return render(request, "notes/index.html", {"notes": Note.objects.all()})


@require_safe
def note_list(request):
    """GET /api/notes/: every note, through the ORM."""
    notes = [n.as_dict() for n in Note.objects.all()]
    return JsonResponse({"count": len(notes), "notes": notes})


@require_safe
def note_detail(request, pk):
    return JsonResponse(get_object_or_404(Note, pk=pk).as_dict())
