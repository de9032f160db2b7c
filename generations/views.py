from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from . import credits, services
from .credits import InsufficientCredits
from .forms import GenerateForm
from .models import Generation
from .providers import InvalidRequest
from .serving import image_download_name, serve_stored, thumbnail_download_name


def _own(request, pk) -> Generation:
    """Another user's generation is a 404: its existence is not revealed."""
    return get_object_or_404(Generation.objects.owned_by(request.user), pk=pk)


@login_required
def home(request):
    form = GenerateForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        width, height = data["size"]
        try:
            services.generation_create(
                user=request.user, prompt=data["prompt"], width=width, height=height,
                seed=data["seed"], prompt_extend=data["prompt_extend"], provider=data["provider"])
        except InvalidRequest as exc:
            form.add_error(exc.field if exc.field in form.fields else None, exc.message)
        except (InsufficientCredits, services.LimitExceeded) as exc:
            form.add_error(None, str(exc))
        else:
            messages.success(request, "Queued.")
            return redirect("home")
    generations = Generation.objects.owned_by(request.user)[:48]
    return render(request, "generations/home.html", {
        "form": form, "generations": generations, "balance": credits.balance(user=request.user),
    })


@login_required
def detail(request, pk):
    return render(request, "generations/detail.html", {"g": _own(request, pk)})


@login_required
def status_json(request, pk):
    g = _own(request, pk)
    return JsonResponse({"id": str(g.pk), "status": g.status, "finished": g.is_finished,
                         "error_code": g.error_code, "error_message": g.error_message})


@login_required
def image(request, pk):
    g = _own(request, pk)
    return serve_stored(g.image, download_name=image_download_name(g))


@login_required
def thumbnail(request, pk):
    g = _own(request, pk)
    return serve_stored(g.thumbnail, download_name=thumbnail_download_name(g))


@login_required
@require_POST
def cancel(request, pk):
    outcome = services.generation_cancel(generation=_own(request, pk))
    if outcome == "canceled":
        messages.info(request, "Canceled; the credits were returned.")
    elif outcome == "cancel_requested":
        messages.info(request, "Cancel requested: if the provider has not made the image yet, "
                               "it is discarded and the credits returned.")
    else:
        messages.warning(request, "Too late to cancel: the image is already made.")
    return redirect("home")
