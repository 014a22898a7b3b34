from django.http import JsonResponse

from .models import Item


def items(request):
    rows = list(Item.objects.order_by("id").values("id", "name", "price")[:10])
    return JsonResponse({"items": rows, "count": len(rows)})
